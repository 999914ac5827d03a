"""Logistics: carriers, shipments, tracking events and postal geography."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from ecomops.models import ModelVersion, TimeStampedModel
from orders.models import Order


class Carrier(TimeStampedModel):
    """A carrier that moves parcels from the seller or warehouse to the customer."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ZipArea(models.Model):
    """A postal prefix with its centre (mean of the geolocation points seen for it)."""

    prefix = models.CharField(max_length=8, unique=True)
    latitude = models.FloatField()
    longitude = models.FloatField()
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)
    points = models.PositiveIntegerField(default=1, help_text="Geolocation rows averaged into the centre.")

    class Meta:
        ordering = ["prefix"]

    def __str__(self) -> str:
        return f"{self.prefix} {self.city}/{self.state}"


class Shipment(TimeStampedModel):
    """The physical delivery of an order (or part of one) by a carrier."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        DELIVERED = "delivered", "Delivered"
        RETURNED = "returned", "Returned"
        LOST = "lost", "Lost"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery_date = models.DateField(null=True, blank=True)
    window_start = models.TimeField(
        null=True, blank=True, help_text="Delivery time window agreed with the customer: earliest local time."
    )
    window_end = models.TimeField(null=True, blank=True, help_text="Delivery time window: latest local time.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(window_start__isnull=True) & Q(window_end__isnull=True))
                | (Q(window_start__isnull=False) & Q(window_end__gt=F("window_start"))),
                name="shipment_window_both_or_none_and_ordered",
            )
        ]

    def clean(self):
        super().clean()
        if (self.window_start is None) != (self.window_end is None):
            field = "window_end" if self.window_end is None else "window_start"
            raise ValidationError({field: "give both ends of the delivery time window, or neither"})
        if self.window_start is not None and self.window_end <= self.window_start:
            raise ValidationError({"window_end": "the delivery time window must end after it starts"})

    def __str__(self) -> str:
        return f"{self.order} via {self.carrier or '?'} ({self.status})"


class TrackingEvent(models.Model):
    """A scan or status change reported for a shipment."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=32)
    location = models.CharField(max_length=128, blank=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["shipment_id", "occurred_at"]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.status} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class DeliveryPrediction(TimeStampedModel):
    """An order's predicted delivery (ETA = median, promise = calibrated high quantile) and its late risk.

    Every row names the ModelVersion that produced it and the as-of date whose knowledge it used.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="delivery_predictions")
    shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery_predictions"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(help_text="Only what was known before this date was used.")
    eta_date = models.DateField()
    promise_date = models.DateField()
    eta_days = models.FloatField()
    promise_days = models.FloatField()
    late_risk = models.FloatField(help_text="Probability of delivery after the promise date.")

    class Meta:
        ordering = ["-late_risk", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "model_version", "as_of"], name="deliveryprediction_unique"),
            models.CheckConstraint(
                condition=Q(late_risk__gte=0) & Q(late_risk__lte=1), name="deliveryprediction_risk_in_0_1"
            ),
            models.CheckConstraint(
                condition=Q(promise_date__gte=F("eta_date")), name="deliveryprediction_promise_gte_eta"
            ),
        ]
        indexes = [models.Index(fields=["as_of", "late_risk"])]

    def __str__(self) -> str:
        return f"{self.order} ETA {self.eta_date} promise {self.promise_date} risk {self.late_risk:.0%}"

    @property
    def is_likely_late(self) -> bool:
        return self.late_risk >= LIKELY_LATE_RISK


LIKELY_LATE_RISK = 0.5
DEFAULT_TARGET_LATE_SHARE = 0.04


def validate_late_share(value: float) -> None:
    if value is None or not 0 < value < 0.5:
        raise ValidationError(
            "the accepted share of late deliveries must be above 0 and below 0.5 (e.g. 0.04 for 4 %%), got %(value)s",
            code="late_share_out_of_range",
            params={"value": value},
        )


class DeliverySettings(TimeStampedModel):
    """The store's delivery-promise settings: one row (pk 1), edited by an administrator in the admin.

    ``target_late_share`` is the share of deliveries the store accepts to arrive after the promise date; the
    delivery model's promise is calibrated to it at every training (a job or command may still override it).
    """

    SINGLETON_PK = 1

    target_late_share = models.FloatField(
        default=DEFAULT_TARGET_LATE_SHARE,
        validators=[validate_late_share],
        help_text="Accepted share of deliveries after the promise date, between 0 and 0.5 (0.04 = 4 %).",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "delivery settings"
        verbose_name_plural = "delivery settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="deliverysettings_single_row"),
            models.CheckConstraint(
                condition=Q(target_late_share__gt=0) & Q(target_late_share__lt=0.5),
                name="deliverysettings_late_share_in_0_05",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery settings: promise with {self.target_late_share:.1%} late"

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_PK
        if self._state.adding:
            # A new object saved over the existing row updates it (keeping when the row was created).
            created = type(self).objects.filter(pk=self.SINGLETON_PK).values_list("created_at", flat=True).first()
            if created is not None:
                self.created_at, self._state.adding = created, False
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> DeliverySettings:
        """The store's settings row (created on first use from ``LOGISTICS_TARGET_LATE_SHARE``, else 4 %)."""
        initial = float(getattr(settings, "LOGISTICS_TARGET_LATE_SHARE", DEFAULT_TARGET_LATE_SHARE))
        return cls.objects.get_or_create(pk=cls.SINGLETON_PK, defaults={"target_late_share": initial})[0]


class OrderRisk(TimeStampedModel):
    """Anomaly score of a new order with the reasons, for an operator to review before it is allocated."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        CLEARED = "cleared", "Cleared"
        HELD = "held", "Held"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="risk")
    score = models.FloatField(help_text="0 = ordinary, 1 = most unusual.")
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="orderrisk_score_in_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.order} risk {self.score:.2f} ({self.status})"


class RoutePlan(TimeStampedModel):
    """Vehicle routes for one location's shipments of one day, solved with PyVRP."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="route_plans")
    date = models.DateField()
    vehicle_capacity = models.PositiveIntegerField(help_text="Capacity per vehicle (in the load unit, grams).")
    vehicles_available = models.PositiveIntegerField()
    total_distance_km = models.FloatField(default=0)
    routes_used = models.PositiveIntegerField(default=0)
    is_feasible = models.BooleanField(default=True)
    solver = models.CharField(max_length=64, default="pyvrp")
    runtime_seconds = models.FloatField(default=0)
    unplanned = models.JSONField(
        default=list, blank=True, help_text="Shipments left out (or missing their time window), with the reason."
    )
    uses_time_windows = models.BooleanField(
        default=False, help_text="Planned against the shipments' delivery windows and the shift (some had one)."
    )
    shift_start = models.TimeField(null=True, blank=True)
    shift_end = models.TimeField(null=True, blank=True)
    speed_kmh = models.FloatField(null=True, blank=True, help_text="Travel speed assumed for arrival times.")
    service_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Time spent at each stop.")

    class Meta:
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"{self.location} {self.date}: {self.routes_used} routes, {self.total_distance_km:.1f} km"


class RouteStop(models.Model):
    """One visit of a planned route: a shipment delivered in this order by this vehicle."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="stops")
    route_number = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="route_stops")
    latitude = models.FloatField()
    longitude = models.FloatField()
    load = models.PositiveIntegerField(default=0)
    distance_from_previous_km = models.FloatField(default=0)
    planned_arrival = models.TimeField(null=True, blank=True, help_text="When time windows were planned.")

    class Meta:
        ordering = ["plan_id", "route_number", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "route_number", "sequence"], name="routestop_unique_position"),
            models.UniqueConstraint(fields=["plan", "shipment"], name="routestop_unique_shipment"),
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id} route {self.route_number} #{self.sequence}: {self.shipment_id}"

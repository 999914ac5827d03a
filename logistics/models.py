"""Logistics: carriers, shipments, tracking events and postal geography."""

from django.db import models

from ecomops.models import TimeStampedModel
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

    class Meta:
        ordering = ["-created_at", "-pk"]

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

"""Pricing: effective-dated prices (past and planned), promotions and competitor prices."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Product
from ecomops.models import TimeStampedModel
from inventory.models import Location


class PriceHistory(TimeStampedModel):
    """A price of a product (at a location, or everywhere when location is empty) from a date on.

    A row holds until the next row of the same product and location starts (or ``effective_to``).
    Rows dated in the future are planned prices: forecasting uses them as known covariates.
    """

    class Source(models.TextChoices):
        IMPORT = "import", "Import"
        MANUAL = "manual", "Manual"
        RECOMMENDATION = "recommendation", "Approved recommendation"
        API = "api", "API"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="prices")
    price = models.DecimalField(max_digits=12, decimal_places=4)
    effective_from = models.DateField(db_index=True)
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force, if known.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.IMPORT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["product_id", "location_id", "-effective_from"]
        verbose_name_plural = "price history"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "effective_from"],
                condition=Q(location__isnull=False),
                name="price_unique_product_location_from",
            ),
            models.UniqueConstraint(
                fields=["product", "effective_from"],
                condition=Q(location__isnull=True),
                name="price_unique_product_from_everywhere",
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="price_positive"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="price_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id or '*'} {self.price} from {self.effective_from}"


class Promotion(TimeStampedModel):
    """A promotion of a product at a location (or everywhere) over a period."""

    class Kind(models.TextChoices):
        DISPLAY = "display", "In-store display"
        FEATURE = "feature", "Feature advertising"
        DISCOUNT = "discount", "Discount"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="promotions")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="promotions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    starts_on = models.DateField(db_index=True)
    ends_on = models.DateField()
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "product_id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="promotion_period_ordered"),
            models.UniqueConstraint(
                fields=["product", "location", "kind", "starts_on"],
                condition=Q(location__isnull=False),
                name="promotion_unique_product_location_kind_start",
            ),
            models.UniqueConstraint(
                fields=["product", "kind", "starts_on"],
                condition=Q(location__isnull=True),
                name="promotion_unique_product_kind_start_everywhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id} {self.starts_on}..{self.ends_on}"


class CompetitorPrice(TimeStampedModel):
    """A competitor's price for a product, observed at a moment."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="competitor_prices")
    competitor = models.CharField(max_length=128)
    price = models.DecimalField(max_digits=12, decimal_places=4)
    observed_at = models.DateTimeField(db_index=True)
    url = models.URLField(blank=True)
    source = models.CharField(max_length=32, default="api")

    class Meta:
        ordering = ["-observed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "competitor", "observed_at"], name="competitorprice_unique_observation"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="competitorprice_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.competitor} {self.product_id} {self.price} @ {self.observed_at:%Y-%m-%d}"

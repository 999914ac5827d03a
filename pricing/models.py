"""Pricing: effective-dated prices (past and planned), promotions and competitor prices."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="promotions")
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


class PricingRule(TimeStampedModel):
    """Pricing rules of a category (or the default, when category is empty) that every recommendation obeys.

    Fractions are stored as decimals: ``min_margin`` 0.10 means the price is at least unit cost + 10 %.
    """

    class Objective(models.TextChoices):
        PROFIT = "profit", "Maximise profit"
        REVENUE = "revenue", "Maximise revenue"

    category = models.OneToOneField(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="pricing_rule"
    )
    objective = models.CharField(max_length=16, choices=Objective.choices, default=Objective.PROFIT)
    min_margin = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.10"), help_text="Minimum markup over unit cost (0.10 = 10%)."
    )
    max_step = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        default=Decimal("0.10"),
        help_text="Largest relative change per step (0.10 = ±10%); empty = unlimited.",
    )
    price_ending = models.CharField(
        max_length=4, blank=True, default="", help_text="Cents the price ends in: '99' gives x.99, '9' gives x.x9."
    )
    competitor_below = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Lowest allowed price below the cheapest competitor (0.05 = 5% below).",
    )
    competitor_above = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Highest allowed price above the cheapest competitor (0.10 = 10% above).",
    )
    alert_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        help_text="Alert when our price is more than this fraction above or below the cheapest competitor.",
    )
    overstock_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days of cover above which stock is cleared (no price increase)."
    )
    assumed_cost_share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        default=Decimal("0.60"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.99"))],
        help_text="Unit cost assumed for a product with none recorded (and no margin in its point-of-sale data), "
        "as a share of its current price: 0.60 = 60 %. Recommendations made on it are marked 'cost assumed'. "
        "Empty: such products get no recommendation.",
    )
    scarce_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days of cover below which stock is protected (no markdown)."
    )

    class Meta:
        ordering = ["category_id"]
        constraints = [
            models.CheckConstraint(condition=Q(min_margin__gte=0), name="pricingrule_min_margin_gte_0"),
            models.CheckConstraint(
                condition=Q(max_step__isnull=True) | Q(max_step__gt=0), name="pricingrule_max_step_gt_0"
            ),
            models.CheckConstraint(condition=Q(alert_threshold__gte=0), name="pricingrule_alert_gte_0"),
        ]

    def __str__(self) -> str:
        return f"rules for {self.category or 'every category (default)'}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.category_id is None and PricingRule.objects.filter(category__isnull=True).exclude(pk=self.pk).exists():
            raise ValidationError("there is already a default rule (one without category)")


class ElasticityEstimate(TimeStampedModel):
    """Own-price elasticity of a product (at a location, or over all when empty) with its 95 % interval."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="elasticity_estimates")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="elasticity_estimates"
    )
    model_version = models.ForeignKey("ecomops.ModelVersion", on_delete=models.CASCADE, related_name="+")
    elasticity = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    n_obs = models.PositiveIntegerField(default=0)
    flags = models.JSONField(default=list, blank=True, help_text="positive_elasticity, wide_interval, ...")
    explanation = models.TextField(blank=True)
    cross_elasticities = models.JSONField(default=dict, blank=True, help_text="Substitute SKU -> cross elasticity.")

    class Meta:
        ordering = ["product_id", "location_id", "-model_version_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product", "location"],
                condition=Q(location__isnull=False),
                name="elasticity_unique_version_product_location",
            ),
            models.UniqueConstraint(
                fields=["model_version", "product"],
                condition=Q(location__isnull=True),
                name="elasticity_unique_version_product",
            ),
            models.CheckConstraint(condition=Q(low__lte=F("high")), name="elasticity_interval_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id or '*'} e={self.elasticity:.2f} [{self.low:.2f}, {self.high:.2f}]"

    @property
    def is_plausible(self) -> bool:
        return not self.flags


class PriceRecommendation(TimeStampedModel):
    """A recommended price for a product at a location, with its expected impact, awaiting an analyst's decision."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        APPLIED = "applied", "Applied"
        SUPERSEDED = "superseded", "Superseded"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_recommendations")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="price_recommendations"
    )
    model_version = models.ForeignKey(
        "ecomops.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField(db_index=True, help_text="Only data before this date was used.")
    effective_from = models.DateField(help_text="Date the price takes effect once approved.")
    current_price = models.DecimalField(max_digits=12, decimal_places=4)
    recommended_price = models.DecimalField(max_digits=12, decimal_places=4)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    cost_assumed = models.BooleanField(
        default=False, help_text="The unit cost is the pricing rule's assumed share of the price, not a recorded cost."
    )
    competitor_price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    elasticity = models.FloatField()
    elasticity_low = models.FloatField()
    elasticity_high = models.FloatField()
    expected_units_current = models.FloatField()
    expected_units = models.FloatField(help_text="Expected units per period at the recommended price.")
    expected_revenue_current = models.FloatField()
    expected_revenue = models.FloatField()
    expected_profit_current = models.FloatField()
    expected_profit = models.FloatField()
    binding_rule = models.CharField(max_length=64, help_text="Rule whose bound set the price, or 'optimum'.")
    demand_curve = models.JSONField(default=list, blank=True, help_text="[{price, units, revenue, profit}, ...]")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    applied_price = models.OneToOneField(
        PriceHistory, null=True, blank=True, on_delete=models.SET_NULL, related_name="recommendation"
    )

    class Meta:
        ordering = ["-as_of", "product_id", "location_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(recommended_price__gt=0), name="recommendation_price_positive"),
            models.CheckConstraint(condition=Q(current_price__gt=0), name="recommendation_current_positive"),
            models.UniqueConstraint(
                fields=["product", "location"],
                condition=Q(status="proposed") & Q(location__isnull=False),
                name="recommendation_one_open_per_product_location",
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status="proposed") & Q(location__isnull=True),
                name="recommendation_one_open_per_product",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.product_id}@{self.location_id or '*'} {self.current_price}→{self.recommended_price} ({self.status})"
        )

    @property
    def change_pct(self) -> float:
        return float(self.recommended_price / self.current_price - 1) * 100


class CompetitorPriceAlert(TimeStampedModel):
    """Our price is more than the category's threshold above or below the cheapest competitor."""

    class Direction(models.TextChoices):
        ABOVE = "above", "We are above the competition"
        BELOW = "below", "We are below the competition"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="competitor_alerts")
    competitor_price = models.ForeignKey(CompetitorPrice, on_delete=models.CASCADE, related_name="alerts")
    our_price = models.DecimalField(max_digits=12, decimal_places=4)
    gap = models.DecimalField(max_digits=8, decimal_places=4, help_text="our / competitor - 1")
    threshold = models.DecimalField(max_digits=5, decimal_places=4)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["competitor_price"], name="competitoralert_one_per_observation"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.direction} by {float(self.gap):+.1%}"


class PriceChangeAudit(models.Model):
    """Who changed which price, when, from what to what, and why. Written by services, never edited."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_audits")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=32, help_text="approved, rejected, applied, manual")
    from_price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    to_price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    effective_from = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=255, blank=True)
    recommendation = models.ForeignKey(
        PriceRecommendation, null=True, blank=True, on_delete=models.SET_NULL, related_name="audits"
    )
    price_history = models.ForeignKey(
        PriceHistory, null=True, blank=True, on_delete=models.SET_NULL, related_name="audits"
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.product_id}: {self.from_price}→{self.to_price} by {self.changed_by_id}"

"""Catalog: categories, sellers, products and customers."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ecomops.models import TimeStampedModel


class Category(TimeStampedModel):
    """A product category, named in the source language with its English name beside it."""

    name = models.CharField(max_length=128, unique=True, help_text="Name in the source language.")
    name_en = models.CharField("English name", max_length=128, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name_en or self.name


class Seller(TimeStampedModel):
    """A seller (marketplace merchant or the store itself) and where it ships from."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)
    zip_prefix = models.CharField(max_length=8, blank=True, db_index=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class Product(TimeStampedModel):
    """A sellable item (SKU) with its physical attributes, cost and list price."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DRAFT = "draft", "Draft"
        DISCONTINUED = "discontinued", "Discontinued"

    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    seller = models.ForeignKey(Seller, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    weight_g = models.PositiveIntegerField("weight (g)", null=True, blank=True)
    length_cm = models.PositiveIntegerField("length (cm)", null=True, blank=True)
    height_cm = models.PositiveIntegerField("height (cm)", null=True, blank=True)
    width_cm = models.PositiveIntegerField("width (cm)", null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    list_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0) | Q(unit_cost__isnull=True), name="product_cost_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(list_price__gte=0) | Q(list_price__isnull=True), name="product_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()

    @property
    def volume_cm3(self) -> int | None:
        if self.length_cm and self.height_cm and self.width_cm:
            return self.length_cm * self.height_cm * self.width_cm
        return None


class Customer(TimeStampedModel):
    """A person who buys. Personal data is kept to name and e-mail; location is coarse (postal prefix)."""

    external_id = models.CharField(max_length=64, unique=True, help_text="The person (Olist customer_unique_id).")
    name = models.CharField(max_length=128, blank=True)
    email = models.EmailField(blank=True)
    zip_prefix = models.CharField(max_length=8, blank=True, db_index=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.external_id


# --- Customer analytics (issue #8): segments, lifetime value, recommendations, audiences ---------------------
# These tables are written by catalog/services_customers.py, which reads orders through apps.get_model inside
# functions (orders depends on catalog, so catalog never imports orders at module level).


class CustomerSegment(models.TextChoices):
    """RFM segments, from the R (recency) and F (frequency) scores (1-5) of a snapshot."""

    CHAMPIONS = "champions", "Champions"
    LOYAL = "loyal", "Loyal"
    POTENTIAL_LOYALIST = "potential_loyalist", "Potential loyalist"
    NEW = "new", "New"
    PROMISING = "promising", "Promising"
    NEED_ATTENTION = "need_attention", "Need attention"
    ABOUT_TO_SLEEP = "about_to_sleep", "About to sleep"
    AT_RISK = "at_risk", "At risk"
    CANT_LOSE = "cant_lose", "Can't lose"
    HIBERNATING = "hibernating", "Hibernating"
    LOST = "lost", "Lost"


class CustomerSegmentSnapshot(models.Model):
    """A customer's RFM scores and segment as of a date; one row per customer per recomputation date, so
    movement between segments over time can be followed."""

    # Indexed by the (customer, as_of) unique constraint and the (as_of, segment) index: no single-column
    # indexes, so a million-row snapshot insert maintains three indexes, not five. No database FK constraint:
    # rows are only written by rfm_recompute from orders' (constrained) customer ids, and checking a million
    # deferred FK triggers was a third of the recompute time; Django still cascades deletes of a customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="segment_snapshots", db_index=False, db_constraint=False
    )
    as_of = models.DateField()
    recency_days = models.PositiveIntegerField(help_text="Days from the last order to the as-of date.")
    frequency = models.PositiveIntegerField(help_text="Orders up to the as-of date.")
    monetary = models.DecimalField(max_digits=14, decimal_places=2, help_text="Spend up to the as-of date.")
    recency_score = models.PositiveSmallIntegerField()
    frequency_score = models.PositiveSmallIntegerField()
    monetary_score = models.PositiveSmallIntegerField()
    segment = models.CharField(max_length=24, choices=CustomerSegment.choices)

    class Meta:
        ordering = ["-as_of", "customer_id"]
        indexes = [models.Index(fields=["as_of", "segment"])]
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="segmentsnapshot_unique_customer_date"),
            models.CheckConstraint(
                condition=Q(recency_score__gte=1, recency_score__lte=5)
                & Q(frequency_score__gte=1, frequency_score__lte=5)
                & Q(monetary_score__gte=1, monetary_score__lte=5),
                name="segmentsnapshot_scores_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of}: {self.segment}"

    @property
    def rfm_code(self) -> str:
        return f"{self.recency_score}{self.frequency_score}{self.monetary_score}"


class CustomerScore(models.Model):
    """A customer's current repeat-purchase figures from the active BG/NBD + Gamma-Gamma model version."""

    class ChurnRisk(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="score")
    as_of = models.DateField()
    frequency = models.PositiveIntegerField(help_text="Repeat purchase days (x).")
    recency_weeks = models.FloatField()
    age_weeks = models.FloatField(help_text="Weeks since the first purchase (T).")
    probability_alive = models.FloatField()
    expected_purchases_90d = models.FloatField()
    expected_average_spend = models.DecimalField(max_digits=12, decimal_places=2)
    clv_12m = models.DecimalField("CLV (12 months)", max_digits=14, decimal_places=2)
    churn_risk = models.CharField(max_length=8, choices=ChurnRisk.choices, db_index=True)
    model_version = models.ForeignKey("ecomops.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-clv_12m", "customer_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability_alive__gte=0, probability_alive__lte=1), name="customerscore_p_alive_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: CLV {self.clv_12m}, P(alive) {self.probability_alive:.2f}"

    @property
    def churn_propensity(self) -> float:
        return 1.0 - self.probability_alive


class CustomerRecommendation(models.Model):
    """A precomputed personalised recommendation (rank 1 = best) from a recommendations model version."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="recommendations")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    model_version = models.ForeignKey("ecomops.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["customer_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "rank"], name="customerrec_unique_rank"),
            models.UniqueConstraint(fields=["customer", "product"], name="customerrec_unique_product"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} #{self.rank}: {self.product_id}"


class ProductAssociation(models.Model):
    """'Bought together': ``other`` was in the same order as ``product`` ``count`` times (rank 1 = most)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="associations")
    other = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()
    confidence = models.FloatField(help_text="P(other in the order | product in the order).")
    lift = models.FloatField()
    model_version = models.ForeignKey("ecomops.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["product_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["product", "rank"], name="productassoc_unique_rank"),
            models.CheckConstraint(condition=~Q(product=models.F("other")), name="productassoc_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} + {self.other_id} ({self.count})"


class PopularProduct(models.Model):
    """Most-bought products overall (category empty) and per category: the cold-start recommendations."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    buyers = models.PositiveIntegerField()

    class Meta:
        ordering = ["category_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["category", "rank"], name="popularproduct_unique_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id or 'all'} #{self.rank}: {self.product_id}"


class CampaignAudience(TimeStampedModel):
    """Customers selected for a campaign (an RFM segment or a churn-risk band), with a seeded random control
    group kept aside so the campaign's effect can be measured afterwards."""

    class Source(models.TextChoices):
        SEGMENT = "segment", "RFM segment"
        CHURN_RISK = "churn_risk", "Churn-risk band"

    name = models.CharField(max_length=128, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    criterion = models.CharField(max_length=32, help_text="The segment or churn-risk band selected.")
    snapshot_date = models.DateField(null=True, blank=True, help_text="Segment snapshot used (segment audiences).")
    control_fraction = models.FloatField(default=0.1)
    seed = models.PositiveIntegerField(default=0)
    campaign_start = models.DateField(help_text="Effect is measured on orders from this date.")
    campaign_end = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(control_fraction__gte=0, control_fraction__lt=1), name="audience_control_fraction_0_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    """One customer of an audience, in the treated group or the held-out control group."""

    audience = models.ForeignKey(CampaignAudience, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    is_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["audience_id", "customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["audience", "customer"], name="audiencemember_unique_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.audience_id}:{self.customer_id}{' (control)' if self.is_control else ''}"

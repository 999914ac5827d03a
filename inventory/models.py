"""Inventory: locations, the stock ledger and levels, suppliers, purchase orders, point-of-sale totals."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Category, Product
from ecomops.models import TimeStampedModel


class Location(TimeStampedModel):
    """A place that holds stock or sells: a warehouse, a store, or a marketplace seller's site."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"
        SELLER = "seller", "Seller site"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WAREHOUSE)
    zip_prefix = models.CharField(max_length=8, blank=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Source attributes, e.g. store demographics.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class StockLevel(models.Model):
    """Stock of one product at one location. Only the ledger (StockMovement) changes it."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stocklevel_unique_product_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_non_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One append-only ledger entry; the stock level is the sum of its movements."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale / shipment"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Reservation released"
        ADJUSTMENT = "adjustment", "Adjustment"
        COUNT = "count", "Stock count"
        RETURN = "return", "Customer return"
        TRANSFER_IN = "transfer_in", "Transfer in"
        TRANSFER_OUT = "transfer_out", "Transfer out"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_movements")
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=128, blank=True, help_text="Order, purchase order or note.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["product", "location", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reason} {self.on_hand_delta:+d}/{self.reserved_delta:+d} {self.product_id}@{self.location_id}"

    def save(self, *args, **kwargs):
        # The ledger is append-only: a movement, once written, is never changed.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("StockMovement is append-only; write a correcting movement instead")
        super().save(*args, **kwargs)


class Supplier(TimeStampedModel):
    """A supplier with its replenishment lead time (mean and standard deviation, in days)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    email = models.EmailField(blank=True)
    lead_time_days = models.FloatField(default=7)
    lead_time_std_days = models.FloatField(default=0)
    min_order_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(lead_time_days__gte=0), name="supplier_lead_time_gte_0"),
            models.CheckConstraint(condition=Q(lead_time_std_days__gte=0), name="supplier_lead_time_std_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class SupplierProduct(models.Model):
    """What a supplier sells us: pack size, minimum order quantity and cost per unit."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="supplier_products")
    pack_size = models.PositiveIntegerField(default=1)
    min_order_qty = models.PositiveIntegerField(default=1)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_preferred = models.BooleanField(default=True)

    class Meta:
        ordering = ["supplier_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplierproduct_unique"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="supplierproduct_pack_size_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id}:{self.product_id}"


class ServiceLevelTarget(models.Model):
    """Target fill rate (share of demand served from stock) per category, editable by planners; a default
    applies elsewhere. Replenishment sizes safety stock for it from the forecast's own errors."""

    category = models.OneToOneField(Category, on_delete=models.CASCADE, related_name="service_level")
    target = models.DecimalField(max_digits=5, decimal_places=4, default=0.95)

    class Meta:
        ordering = ["category_id"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gt=0) & Q(target__lt=1), name="servicelevel_in_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.target}"


class PurchaseOrder(TimeStampedModel):
    """An order to a supplier for delivery to a location; drafts come from replenishment suggestions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        CANCELED = "canceled", "Canceled"

    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    expected_at = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    """A product and quantity on a purchase order."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchase_order_lines")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    quantity_received = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True, help_text="Why this quantity was suggested.")

    class Meta:
        ordering = ["purchase_order_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="poline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="poline_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}: {self.product_id} x{self.quantity}"


class SalesObservation(models.Model):
    """Units sold of a product at a location over a period (point-of-sale totals), with price and promotions."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sales_observations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="sales_observations")
    period_start = models.DateField(db_index=True)
    period_days = models.PositiveSmallIntegerField(default=7)
    units = models.FloatField()
    price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    on_display = models.BooleanField(default=False)
    on_feature = models.BooleanField(default=False)
    on_discount = models.BooleanField(default=False)
    profit = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["product_id", "location_id", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "period_start"], name="salesobservation_unique_period"
            ),
            models.CheckConstraint(condition=Q(units__gte=0), name="salesobservation_units_gte_0"),
            models.CheckConstraint(condition=Q(period_days__gte=1), name="salesobservation_period_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.period_start}: {self.units}"


class Allocation(TimeStampedModel):
    """Stock of a location set aside for an order line (a reservation in the ledger)."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        SHIPPED = "shipped", "Shipped"
        RELEASED = "released", "Released"

    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_line", "location"],
                condition=Q(status="reserved"),
                name="allocation_one_open_per_line_location",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="allocation_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"line {self.order_line_id} → {self.location_id} x{self.quantity} ({self.status})"


# --- Demand forecasting and replenishment (forecast helper) ----------------------------------------------


class DemandForecast(models.Model):
    """A quantile forecast of units sold of a product at a location over one period, from one model version.

    ``period_days`` is 1 for series built from order lines (daily) and 7 for point-of-sale series (weekly);
    ``horizon_step`` counts periods after the ``as_of`` date the model was trained up to (exclusive).
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="demand_forecasts")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="demand_forecasts")
    model_version = models.ForeignKey("ecomops.ModelVersion", on_delete=models.CASCADE, related_name="demand_forecasts")
    as_of = models.DateField(db_index=True, help_text="Trained on sales strictly before this date.")
    period_start = models.DateField(db_index=True)
    period_days = models.PositiveSmallIntegerField(default=1)
    horizon_step = models.PositiveSmallIntegerField()
    p10 = models.FloatField()
    p50 = models.FloatField()
    p90 = models.FloatField()
    method = models.CharField(max_length=32, blank=True, help_text="Method chosen for this series by backtest.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "location_id", "period_start"]
        indexes = [models.Index(fields=["product", "location", "period_start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product", "location", "period_start"], name="demandforecast_unique_period"
            ),
            models.CheckConstraint(condition=Q(p10__gte=0), name="demandforecast_p10_gte_0"),
            models.CheckConstraint(condition=Q(p50__gte=F("p10")), name="demandforecast_p50_gte_p10"),
            models.CheckConstraint(condition=Q(p90__gte=F("p50")), name="demandforecast_p90_gte_p50"),
            models.CheckConstraint(condition=Q(horizon_step__gte=1), name="demandforecast_step_gte_1"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.product_id}@{self.location_id} {self.period_start}: {self.p50:.1f} [{self.p10:.1f}, {self.p90:.1f}]"
        )


class ForecastSeriesMetric(models.Model):
    """Backtest accuracy of one series (product at location) under one demand model version."""

    model_version = models.ForeignKey(
        "ecomops.ModelVersion", on_delete=models.CASCADE, related_name="forecast_series_metrics"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=32)
    mase = models.FloatField(null=True, blank=True)
    wape = models.FloatField(null=True, blank=True)
    bias = models.FloatField(null=True, blank=True)
    pinball = models.FloatField(null=True, blank=True)
    coverage = models.FloatField(null=True, blank=True, help_text="Share of actuals inside P10-P90.")
    observations = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["model_version_id", "product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product", "location"], name="forecastseriesmetric_unique_series"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version_id} {self.product_id}@{self.location_id}: MASE {self.mase}"


class ReplenishmentSuggestion(TimeStampedModel):
    """What to order of a product for a location, computed from its forecast, stock and supplier, and why.

    A suggestion becomes a line of a draft PurchaseOrder by an admin action; planners approve the order.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ORDERED = "ordered", "On a purchase order"
        DISMISSED = "dismissed", "Dismissed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="replenishment_suggestions")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="replenishment_suggestions")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey(
        "ecomops.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField(db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    on_hand = models.IntegerField(default=0)
    on_order = models.IntegerField(default=0)
    service_level = models.FloatField()
    lead_time_days = models.FloatField()
    lead_time_std_days = models.FloatField(default=0)
    review_period_days = models.FloatField(default=7)
    daily_demand = models.FloatField(help_text="Mean forecast demand per day (P50).")
    demand_std_lead_time = models.FloatField(help_text="Std of demand over lead time + review period.")
    safety_stock = models.FloatField()
    reorder_point = models.FloatField()
    order_up_to = models.FloatField()
    quantity = models.PositiveIntegerField(help_text="Suggested order quantity after MOQ, pack size and budget.")
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    days_of_cover = models.FloatField(null=True, blank=True)
    stockout_risk = models.FloatField(help_text="P(demand over lead time exceeds the stock position).")
    overstock_units = models.FloatField(default=0, help_text="Stock position above the order-up-to level.")
    reason = models.TextField(blank=True)
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-as_of", "product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location", "as_of"], name="replenishment_unique_as_of"),
            models.CheckConstraint(
                condition=Q(service_level__gt=0) & Q(service_level__lt=1), name="replenishment_service_level_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.as_of}: order {self.quantity}"

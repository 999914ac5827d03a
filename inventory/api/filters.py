"""FilterSets of the inventory API."""

import django_filters

from inventory.models import (
    Allocation,
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesObservation,
    ServiceLevelTarget,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierProduct,
)


class LocationFilter(django_filters.FilterSet):
    class Meta:
        model = Location
        fields = ["code", "kind", "state", "is_active"]


class StockLevelFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    location_code = django_filters.CharFilter(field_name="location__code")
    min_on_hand = django_filters.NumberFilter(field_name="on_hand", lookup_expr="gte")
    max_on_hand = django_filters.NumberFilter(field_name="on_hand", lookup_expr="lte")

    class Meta:
        model = StockLevel
        fields = ["product", "location"]


class StockMovementFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    location_code = django_filters.CharFilter(field_name="location__code")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMovement
        fields = ["product", "location", "reason", "idempotency_key", "reference"]


class SupplierFilter(django_filters.FilterSet):
    class Meta:
        model = Supplier
        fields = ["code"]


class SupplierProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")

    class Meta:
        model = SupplierProduct
        fields = ["supplier", "product", "is_preferred"]


class PurchaseOrderFilter(django_filters.FilterSet):
    class Meta:
        model = PurchaseOrder
        fields = ["number", "supplier", "location", "status"]


class PurchaseOrderLineFilter(django_filters.FilterSet):
    class Meta:
        model = PurchaseOrderLine
        fields = ["purchase_order", "product"]


class SalesObservationFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    location_code = django_filters.CharFilter(field_name="location__code")
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = SalesObservation
        fields = ["product", "location", "on_display", "on_feature", "on_discount"]


class AllocationFilter(django_filters.FilterSet):
    class Meta:
        model = Allocation
        fields = ["order_line", "location", "status"]


class ServiceLevelTargetFilter(django_filters.FilterSet):
    class Meta:
        model = ServiceLevelTarget
        fields = ["category"]

"""Serializers of the inventory API."""

from rest_framework import serializers

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


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "zip_prefix",
            "city",
            "state",
            "latitude",
            "longitude",
            "attributes",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ["id", "product", "sku", "location", "location_code", "on_hand", "reserved", "available", "updated_at"]
        read_only_fields = fields


class StockMovementSerializer(serializers.ModelSerializer):
    """A ledger movement. Created through the ledger service; never changed."""

    sku = serializers.CharField(source="product.sku", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)
    created_by = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "product",
            "sku",
            "location",
            "location_code",
            "on_hand_delta",
            "reserved_delta",
            "reason",
            "idempotency_key",
            "reference",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_by", "created_at"]
        # The unique key is checked by the ledger (a repeat returns the first movement), not refused here.
        extra_kwargs = {"idempotency_key": {"validators": []}}

    def validate(self, attrs):
        if attrs.get("on_hand_delta", 0) == 0 and attrs.get("reserved_delta", 0) == 0:
            raise serializers.ValidationError("a movement must change on_hand or reserved")
        return attrs


class StockMovementBulkRowSerializer(serializers.Serializer):
    """One row of ``POST /api/v1/stock-movements/bulk/``.

    Either deltas (``on_hand_delta`` / ``reserved_delta``) or, with reason ``count``, the ``counted`` figure.
    """

    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=32, help_text="Location code.")
    reason = serializers.ChoiceField(choices=StockMovement.Reason.choices)
    on_hand_delta = serializers.IntegerField(default=0)
    reserved_delta = serializers.IntegerField(default=0)
    counted = serializers.IntegerField(min_value=0, required=False, help_text="For reason 'count' only.")
    key = serializers.CharField(max_length=128, help_text="Idempotency key of the movement (unique).")
    reference = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")

    def validate_sku(self, value):
        product = self.context["bulk"]["products"].get(value)
        if product is None:
            raise serializers.ValidationError(f"unknown SKU {value!r}")
        return product

    def validate_location(self, value):
        location = self.context["bulk"]["locations"].get(value)
        if location is None:
            raise serializers.ValidationError(f"unknown location {value!r}")
        return location

    def validate(self, attrs):
        if attrs["reason"] == StockMovement.Reason.COUNT:
            if "counted" not in attrs:
                raise serializers.ValidationError({"counted": ["required when reason is 'count'"]})
            if attrs["on_hand_delta"] or attrs["reserved_delta"]:
                raise serializers.ValidationError({"counted": ["a count gives 'counted', not deltas"]})
        else:
            if "counted" in attrs:
                raise serializers.ValidationError({"counted": ["only for reason 'count'"]})
            if attrs["on_hand_delta"] == 0 and attrs["reserved_delta"] == 0:
                raise serializers.ValidationError("a movement must change on_hand_delta or reserved_delta")
        return attrs


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = [
            "id",
            "code",
            "name",
            "email",
            "lead_time_days",
            "lead_time_std_days",
            "min_order_value",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class SupplierProductSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)

    class Meta:
        model = SupplierProduct
        fields = [
            "id",
            "supplier",
            "supplier_code",
            "product",
            "sku",
            "pack_size",
            "min_order_qty",
            "unit_cost",
            "is_preferred",
        ]
        read_only_fields = ["id"]


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "purchase_order", "product", "sku", "quantity", "unit_cost", "quantity_received", "reason"]
        read_only_fields = ["id"]


class NestedPurchaseOrderLineSerializer(PurchaseOrderLineSerializer):
    class Meta(PurchaseOrderLineSerializer.Meta):
        fields = [f for f in PurchaseOrderLineSerializer.Meta.fields if f != "purchase_order"]
        read_only_fields = fields


class PurchaseOrderSerializer(serializers.ModelSerializer):
    """A purchase order with its lines (read); lines are changed through ``/purchase-order-lines/``."""

    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)
    created_by = serializers.StringRelatedField(read_only=True)
    approved_by = serializers.StringRelatedField(read_only=True)
    lines = NestedPurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "supplier",
            "supplier_code",
            "location",
            "location_code",
            "status",
            "expected_at",
            "notes",
            "created_by",
            "approved_by",
            "approved_at",
            "lines",
            "created_at",
            "updated_at",
        ]
        # Status moves only through actions (approve) so approval is always recorded with who and when.
        read_only_fields = ["id", "status", "created_by", "approved_by", "approved_at", "created_at", "updated_at"]


class SalesObservationSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)

    class Meta:
        model = SalesObservation
        fields = [
            "id",
            "product",
            "sku",
            "location",
            "location_code",
            "period_start",
            "period_days",
            "units",
            "price",
            "on_display",
            "on_feature",
            "on_discount",
            "profit",
        ]
        read_only_fields = ["id"]


class AllocationSerializer(serializers.ModelSerializer):
    location_code = serializers.CharField(source="location.code", read_only=True)
    order_external_id = serializers.CharField(source="order_line.order.external_id", read_only=True)

    class Meta:
        model = Allocation
        fields = [
            "id",
            "order_line",
            "order_external_id",
            "location",
            "location_code",
            "quantity",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ServiceLevelTargetSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.__str__", read_only=True)

    class Meta:
        model = ServiceLevelTarget
        fields = ["id", "category", "category_name", "target"]
        read_only_fields = ["id"]

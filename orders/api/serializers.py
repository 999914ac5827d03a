"""Serializers of the orders API."""

from rest_framework import serializers

from orders.models import Order, OrderLine, Payment
from orders.services import LineData, OrderData, PaymentData


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "order",
            "line_number",
            "product",
            "sku",
            "seller",
            "quantity",
            "unit_price",
            "freight",
            "shipping_limit_at",
        ]
        read_only_fields = ["id"]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "order", "sequential", "type", "installments", "value"]
        read_only_fields = ["id"]


class NestedLineSerializer(OrderLineSerializer):
    class Meta(OrderLineSerializer.Meta):
        fields = [f for f in OrderLineSerializer.Meta.fields if f != "order"]
        read_only_fields = fields


class NestedPaymentSerializer(PaymentSerializer):
    class Meta(PaymentSerializer.Meta):
        fields = [f for f in PaymentSerializer.Meta.fields if f != "order"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """An order; its lines and payments are shown nested and changed through their own endpoints."""

    customer_external_id = serializers.CharField(source="customer.external_id", read_only=True)
    lines = NestedLineSerializer(many=True, read_only=True)
    payments = NestedPaymentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer",
            "customer_external_id",
            "customer_ref",
            "status",
            "purchased_at",
            "approved_at",
            "handed_to_carrier_at",
            "delivered_at",
            "promised_delivery_date",
            "shipping_zip_prefix",
            "shipping_city",
            "shipping_state",
            "lines",
            "payments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


# --- bulk ---------------------------------------------------------------------------------------------------
class BulkLineSerializer(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, required=False, help_text="Default: position in the list.")
    sku = serializers.CharField(max_length=64)
    seller = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True, help_text="Seller external id."
    )
    quantity = serializers.IntegerField(min_value=1, default=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    freight = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=0)
    shipping_limit_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_sku(self, value):
        product = self.context["bulk"]["products"].get(value)
        if product is None:
            raise serializers.ValidationError(f"unknown SKU {value!r}")
        return product

    def validate_seller(self, value):
        if not value:
            return None
        seller = self.context["bulk"]["sellers"].get(value)
        if seller is None:
            raise serializers.ValidationError(f"unknown seller {value!r}")
        return seller


class BulkPaymentSerializer(serializers.Serializer):
    sequential = serializers.IntegerField(min_value=1, required=False, help_text="Default: position in the list.")
    type = serializers.ChoiceField(choices=Payment.Type.choices)
    installments = serializers.IntegerField(min_value=0, default=1)
    value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class OrderBulkRowSerializer(serializers.Serializer):
    """One row of ``POST /api/v1/orders/bulk/``: an order by external id with all its lines and payments."""

    external_id = serializers.CharField(max_length=64)
    customer = serializers.CharField(max_length=64, help_text="Customer external id (must exist).")
    customer_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Order.Status.choices, default=Order.Status.CREATED)
    purchased_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    handed_to_carrier_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    promised_delivery_date = serializers.DateField(required=False, allow_null=True, default=None)
    shipping_zip_prefix = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    shipping_city = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    shipping_state = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    lines = BulkLineSerializer(many=True, allow_empty=True, default=list)
    payments = BulkPaymentSerializer(many=True, allow_empty=True, default=list)

    def validate_customer(self, value):
        customer = self.context["bulk"]["customers"].get(value)
        if customer is None:
            raise serializers.ValidationError(f"unknown customer {value!r}; create it first (POST /customers/bulk/)")
        return customer

    @staticmethod
    def _numbered(items, key, what):
        numbers = [item.get(key) or position for position, item in enumerate(items, start=1)]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise serializers.ValidationError(f"duplicate {what} {', '.join(map(str, duplicates))}")
        return numbers

    def validate(self, attrs):
        errors = {}
        try:
            line_numbers = self._numbered(attrs["lines"], "line_number", "line_number")
        except serializers.ValidationError as error:
            errors["lines"] = error.detail
        try:
            sequentials = self._numbered(attrs["payments"], "sequential", "sequential")
        except serializers.ValidationError as error:
            errors["payments"] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        lines = [
            LineData(
                line_number=number,
                product=line["sku"],
                seller=line.get("seller") or line["sku"].seller,
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                freight=line["freight"],
                shipping_limit_at=line.get("shipping_limit_at"),
            )
            for number, line in zip(line_numbers, attrs["lines"], strict=True)
        ]
        payments = [
            PaymentData(sequential=number, type=p["type"], installments=p["installments"], value=p["value"])
            for number, p in zip(sequentials, attrs["payments"], strict=True)
        ]
        values = {k: v for k, v in attrs.items() if k not in ("lines", "payments")}
        return {"order": OrderData(**values, lines=lines, payments=payments)}

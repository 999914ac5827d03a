"""Serializers of the orders API."""

import re
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
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
    line_number = serializers.IntegerField(
        min_value=1, max_value=2147483647, required=False, help_text="Default: position in the list."
    )
    sku = serializers.CharField(max_length=64)
    seller = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True, help_text="Seller external id."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=2147483647, default=1)
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
    sequential = serializers.IntegerField(
        min_value=1, max_value=2147483647, required=False, help_text="Default: position in the list."
    )
    type = serializers.ChoiceField(choices=Payment.Type.choices)
    installments = serializers.IntegerField(min_value=0, max_value=2147483647, default=1)
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


# --- fast path for valid rows ------------------------------------------------------------------------------
# Validating a row field by field through DRF costs more than inserting it. Rows made only of plain values
# (strings without surrounding blanks, integers, plain decimals, ISO dates) are checked here directly and
# produce exactly what the serializer would; anything else, and every row with an error, goes through the
# serializer, so the accepted values and the error messages are the serializer's.
_DECIMAL = re.compile(r"\d{1,10}(?:\.\d{1,2})?")
_SURROGATE = re.compile("[\ud800-\udfff\x00]")
_MAX_INT = 2147483647
_ORDER_STATUSES = frozenset(Order.Status.values)
_PAYMENT_TYPES = frozenset(Payment.Type.values)


class _Fallback(Exception):
    """The row needs the serializer."""


def _text(row, name, max_length, *, required=False, blank=True, default=""):
    if name not in row:
        if required:
            raise _Fallback
        return default
    value = row[name]
    if (
        not isinstance(value, str)
        or len(value) > max_length
        or value != value.strip()
        or (not value and not blank)
        or _SURROGATE.search(value)
    ):
        raise _Fallback
    return value


def _integer(row, name, *, minimum, default=None, required=False):
    if name not in row:
        if required:
            raise _Fallback
        return default
    value = row[name]
    if type(value) is not int or not minimum <= value <= _MAX_INT:
        raise _Fallback
    return value


def _decimal(row, name, *, default=None, required=False):
    if name not in row:
        if required:
            raise _Fallback
        return default
    value = row[name]
    if type(value) is int and 0 <= value < 10**10:
        return Decimal(value).quantize(Decimal("0.01"))
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise _Fallback
    return Decimal(value).quantize(Decimal("0.01"))


def _datetime(row, name, *, required=False, present_only=False, tz=None):
    if name not in row:
        if required:
            raise _Fallback
        return _ABSENT if present_only else None
    value = row[name]
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Fallback
    try:
        parsed = datetime.fromisoformat(value)
        current = tz if tz is not None else timezone.get_current_timezone()
        return parsed.astimezone(current) if parsed.utcoffset() is not None else parsed.replace(tzinfo=current)
    except (ValueError, OverflowError):
        raise _Fallback


def _date(row, name):
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Fallback
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Fallback


_ABSENT = object()


def _choice(row, name, choices, default):
    if name not in row:
        return default
    value = row[name]
    if not isinstance(value, str) or value not in choices:
        raise _Fallback
    return value


def fast_order_row(row: dict, serializer: OrderBulkRowSerializer):
    """The serializer's validated data for a plain, valid row; None when the serializer must decide."""
    prepared = serializer.context["bulk"]
    tz = prepared.get("timezone")  # looked up once per batch: the thread-local look-up is slow
    try:
        customer = prepared["customers"].get(_text(row, "customer", 64, required=True, blank=False))
        if customer is None:
            raise _Fallback
        attrs = {
            "external_id": _text(row, "external_id", 64, required=True, blank=False),
            "customer": customer,
            "customer_ref": _text(row, "customer_ref", 64),
            "status": _choice(row, "status", _ORDER_STATUSES, Order.Status.CREATED),
            "purchased_at": _datetime(row, "purchased_at", required=True, tz=tz),
            "approved_at": _datetime(row, "approved_at", tz=tz),
            "handed_to_carrier_at": _datetime(row, "handed_to_carrier_at", tz=tz),
            "delivered_at": _datetime(row, "delivered_at", tz=tz),
            "promised_delivery_date": _date(row, "promised_delivery_date"),
            "shipping_zip_prefix": _text(row, "shipping_zip_prefix", 8),
            "shipping_city": _text(row, "shipping_city", 128),
            "shipping_state": _text(row, "shipping_state", 8),
        }
        lines, payments = row.get("lines", []), row.get("payments", [])
        if not isinstance(lines, list) or not isinstance(payments, list):
            raise _Fallback
        attrs["lines"] = [_fast_line(line, prepared) for line in lines]
        attrs["payments"] = [_fast_payment(payment) for payment in payments]
        return serializer.validate(attrs)
    except (_Fallback, serializers.ValidationError):
        return None


def _fast_line(line, prepared):
    if not isinstance(line, dict):
        raise _Fallback
    product = prepared["products"].get(_text(line, "sku", 64, required=True, blank=False))
    if product is None:
        raise _Fallback
    seller = None
    if line.get("seller"):
        seller = prepared["sellers"].get(_text(line, "seller", 64))
        if seller is None:
            raise _Fallback
    elif "seller" in line and line["seller"] not in (None, ""):
        raise _Fallback
    attrs = {
        "sku": product,
        "seller": seller,
        "quantity": _integer(line, "quantity", minimum=1, default=1),
        "unit_price": _decimal(line, "unit_price", required=True),
        "freight": _decimal(line, "freight", default=0),
    }
    if "seller" not in line:
        del attrs["seller"]
    if "line_number" in line:
        attrs["line_number"] = _integer(line, "line_number", minimum=1)
    shipping_limit_at = _datetime(line, "shipping_limit_at", present_only=True, tz=prepared.get("timezone"))
    if shipping_limit_at is not _ABSENT:
        attrs["shipping_limit_at"] = shipping_limit_at
    return attrs


def _fast_payment(payment):
    if not isinstance(payment, dict) or not isinstance(payment.get("type"), str):
        raise _Fallback
    if payment["type"] not in _PAYMENT_TYPES:
        raise _Fallback
    attrs = {
        "type": payment["type"],
        "installments": _integer(payment, "installments", minimum=0, default=1),
        "value": _decimal(payment, "value", required=True),
    }
    if "sequential" in payment:
        attrs["sequential"] = _integer(payment, "sequential", minimum=1)
    return attrs

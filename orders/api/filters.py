"""FilterSets of the orders API."""

import django_filters

from orders.models import Order, OrderLine, Payment


class OrderFilter(django_filters.FilterSet):
    purchased_after = django_filters.IsoDateTimeFilter(field_name="purchased_at", lookup_expr="gte")
    purchased_before = django_filters.IsoDateTimeFilter(field_name="purchased_at", lookup_expr="lt")
    customer_external_id = django_filters.CharFilter(field_name="customer__external_id")
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)

    class Meta:
        model = Order
        fields = ["external_id", "customer", "status", "shipping_state"]


class OrderLineFilter(django_filters.FilterSet):
    order_external_id = django_filters.CharFilter(field_name="order__external_id")
    sku = django_filters.CharFilter(field_name="product__sku")

    class Meta:
        model = OrderLine
        fields = ["order", "product", "seller"]


class PaymentFilter(django_filters.FilterSet):
    order_external_id = django_filters.CharFilter(field_name="order__external_id")

    class Meta:
        model = Payment
        fields = ["order", "type"]

"""ViewSets of the orders API."""

import logging

from django.db import DataError, IntegrityError, connection
from django.db.models import BooleanField, Prefetch
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import viewsets

from catalog.models import Customer, Product, Seller
from ecomops.api.bulk import BulkStatus, BulkUpsertMixin, RowResult
from ecomops.api.idempotency import IdempotentCreateMixin
from orders.models import Order, OrderLine, Payment
from orders.services import Ref, order_snapshot_matches, order_snapshots, order_upsert, orders_create_many

from . import filters, serializers

logger = logging.getLogger(__name__)


def _with_key_in(model, key: str, values: set[str]):
    """``model`` rows whose ``key`` is one of ``values``. On PostgreSQL the values go as one array parameter
    (``= ANY(%s)``): psycopg parses a query with a placeholder per value slowly (a quarter of a batch's CPU)."""
    if connection.vendor != "postgresql":
        return model._default_manager.filter(**{f"{key}__in": values})
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(key).column)}"
    hit = RawSQL(f"{column} = ANY(%s)", (sorted(values),), output_field=BooleanField())
    return model._default_manager.alias(key_hit=hit).filter(key_hit=True)


class OrderViewSet(IdempotentCreateMixin, BulkUpsertMixin, viewsets.ModelViewSet):
    queryset = (
        Order.objects.select_related("customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("line_number")),
            Prefetch("payments", queryset=Payment.objects.order_by("sequential")),
        )
        .order_by("-purchased_at", "-pk")
    )
    serializer_class = serializers.OrderSerializer
    filterset_class = filters.OrderFilter
    search_fields = ["external_id", "customer__external_id", "customer_ref"]
    ordering_fields = ["purchased_at", "delivered_at", "status", "external_id", "created_at"]
    bulk_serializer_class = serializers.OrderBulkRowSerializer

    def bulk_prepare(self, rows):
        dicts = [row for row in rows if isinstance(row, dict)]
        lines = [line for row in dicts if isinstance(row.get("lines"), list) for line in row["lines"]]
        lines = [line for line in lines if isinstance(line, dict)]
        skus = {str(line["sku"]) for line in lines if line.get("sku")}
        seller_ids = {str(line["seller"]) for line in lines if line.get("seller")}
        customer_ids = {str(row["customer"]) for row in dicts if row.get("customer")}
        external_ids = {str(row["external_id"]) for row in dicts if row.get("external_id")}
        # Only the keys the rows write (Ref): model instances for thousands of references cost more than the rest.
        products = _with_key_in(Product, "sku", skus).values_list("sku", "pk", "seller_id")
        sellers = _with_key_in(Seller, "external_id", seller_ids).values_list("external_id", "pk")
        customers = _with_key_in(Customer, "external_id", customer_ids).values_list("external_id", "pk")
        existing = list(_with_key_in(Order, "external_id", external_ids).values_list("pk", flat=True))
        return {
            "products": {sku: Ref(pk, Ref(seller) if seller else None) for sku, pk, seller in products},
            "sellers": {external_id: Ref(pk) for external_id, pk in sellers},
            "customers": {external_id: Ref(pk) for external_id, pk in customers},
            "timezone": timezone.get_current_timezone(),
            "orders": order_snapshots(order_ids=existing),  # compared as plain values (a replay is common)
        }

    def bulk_fast_validate(self, row, serializer):
        return serializers.fast_order_row(row, serializer)

    def bulk_upsert_row(self, data, *, prepared, request):
        order_data = data["order"]
        # A changed order is read again under a row lock (the batch's snapshot only tells that it changed).
        order, outcome = order_upsert(data=order_data)
        return order, BulkStatus(outcome)

    def bulk_apply(self, rows, *, prepared, request):
        """New orders go in with three INSERTs per batch; existing ones and repeats are upserted one by one."""
        fresh, one_by_one, seen, results = [], [], set(), []
        for row in rows:
            external_id = row.data["order"].external_id
            existing = prepared["orders"].get(external_id)
            if existing is not None and external_id not in seen and order_snapshot_matches(existing, row.data["order"]):
                # A resent order: nothing to write (the comparison used the batch's prefetched rows).
                seen.add(external_id)
                results.append(RowResult(row.index, BulkStatus.UNCHANGED, id=existing.pk))
            elif existing is not None or external_id in seen:
                one_by_one.append(row)
            else:
                seen.add(external_id)
                fresh.append(row)
        for start in range(0, len(fresh), 1000):
            chunk = fresh[start : start + 1000]
            try:
                created = orders_create_many(orders=[row.data["order"] for row in chunk])  # their ids
            except (IntegrityError, DataError) as error:
                # A concurrent request inserted one of them, or a row breaks a constraint: find which.
                logger.info("bulk order insert fell back to one by one: %s", error)
                one_by_one = chunk + one_by_one
                continue
            results.extend(
                RowResult(row.index, BulkStatus.CREATED, id=pk) for row, pk in zip(chunk, created, strict=True)
            )
        results.extend(self.bulk_apply_one(row, prepared=prepared, request=request) for row in one_by_one)
        return results


class OrderLineViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = OrderLine.objects.select_related("order", "product", "seller").order_by("order_id", "line_number")
    serializer_class = serializers.OrderLineSerializer
    filterset_class = filters.OrderLineFilter
    search_fields = ["order__external_id", "product__sku"]
    ordering_fields = ["order", "line_number", "unit_price", "freight", "quantity"]


class PaymentViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = Payment.objects.select_related("order").order_by("order_id", "sequential")
    serializer_class = serializers.PaymentSerializer
    filterset_class = filters.PaymentFilter
    search_fields = ["order__external_id"]
    ordering_fields = ["order", "sequential", "value", "type"]

"""Orders writes: creating and updating orders with their lines and payments by natural key.

An order is identified by its ``external_id``, a line by ``(order, line_number)`` and a payment by
``(order, sequential)``. Upserts report ``created``, ``updated`` or ``unchanged``; an unchanged order is not
written. Lines are never deleted by an upsert (stock may be allocated to them): a payload that omits an
existing line is refused. Payments are replaced to match the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Customer, Product, Seller

from .models import Order, OrderLine, Payment

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

ORDER_FIELDS = (
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
)


@dataclass(frozen=True, slots=True)
class Ref:
    """A catalog row known by its primary key (a product also by its seller's): all an order row writes.

    The bulk API looks thousands of these up per batch; plain values cost far less than model instances.
    """

    pk: int
    seller: Ref | None = None


@dataclass(frozen=True)
class LineData:
    """A validated order line."""

    line_number: int
    product: Product | Ref
    quantity: int
    unit_price: Decimal
    freight: Decimal = Decimal("0")
    seller: Seller | Ref | None = None
    shipping_limit_at: datetime | None = None

    def values(self) -> dict:
        return {
            "product_id": self.product.pk,
            "seller_id": self.seller.pk if self.seller else None,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "freight": self.freight,
            "shipping_limit_at": self.shipping_limit_at,
        }


@dataclass(frozen=True)
class PaymentData:
    """A validated payment."""

    sequential: int
    type: str
    value: Decimal
    installments: int = 1

    def values(self) -> dict:
        return {"type": self.type, "value": self.value, "installments": self.installments}


@dataclass
class OrderData:
    """A validated order with its lines and payments (as the bulk API and importers pass it)."""

    external_id: str
    customer: Customer | Ref
    purchased_at: datetime
    status: str = Order.Status.CREATED
    customer_ref: str = ""
    approved_at: datetime | None = None
    handed_to_carrier_at: datetime | None = None
    delivered_at: datetime | None = None
    promised_delivery_date: date | None = None
    shipping_zip_prefix: str = ""
    shipping_city: str = ""
    shipping_state: str = ""
    lines: list[LineData] = field(default_factory=list)
    payments: list[PaymentData] = field(default_factory=list)

    def values(self) -> dict:
        return {"customer_id": self.customer.pk, **{name: getattr(self, name) for name in ORDER_FIELDS}}


def _order_instance(data: OrderData) -> Order:
    return Order(external_id=data.external_id, **data.values())


def _line_instances(order: Order, data: OrderData) -> list[OrderLine]:
    return [OrderLine(order=order, line_number=line.line_number, **line.values()) for line in data.lines]


def _payment_instances(order: Order, data: OrderData) -> list[Payment]:
    return [Payment(order=order, sequential=p.sequential, **p.values()) for p in data.payments]


def _copy_rows(model, names: list[str], rows) -> None:
    """PostgreSQL: ``COPY table (columns) FROM STDIN`` (psycopg formats the rows in C; no SQL per row)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in names)
    # wrap_database_errors: a unique or check violation surfaces as Django's IntegrityError, as with execute().
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _orders_create_many_postgres(orders: list[OrderData]) -> list[int]:
    """Order ids are drawn from the table's sequence in one query, then the three tables are COPYed."""
    now = timezone.now()
    table = Order._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(orders)]
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    order_names = ["id", "external_id", "customer", *ORDER_FIELDS, "created_at", "updated_at"]
    _copy_rows(
        Order,
        order_names,
        (
            (pk, d.external_id, d.customer.pk, *[getattr(d, name) for name in ORDER_FIELDS], now, now)
            for pk, d in zip(ids, orders, strict=True)
        ),
    )
    line_names = ["order", "line_number", "product", "seller", "quantity", "unit_price", "freight", "shipping_limit_at"]
    _copy_rows(
        OrderLine,
        line_names,
        (
            (
                pk,
                line.line_number,
                line.product.pk,
                line.seller.pk if line.seller else None,
                line.quantity,
                line.unit_price,
                line.freight,
                line.shipping_limit_at,
            )
            for pk, d in zip(ids, orders, strict=True)
            for line in d.lines
        ),
    )
    _copy_rows(
        Payment,
        ["order", "sequential", "type", "installments", "value"],
        (
            (pk, p.sequential, p.type, p.installments, p.value)
            for pk, d in zip(ids, orders, strict=True)
            for p in d.payments
        ),
    )
    return ids


def orders_create_many(*, orders: list[OrderData]) -> list[int]:
    """Insert new orders with their lines and payments in three statements (all or none); their ids, in order.

    The caller makes sure no order exists yet with these external ids; a clash raises ``IntegrityError``.
    On PostgreSQL the rows go in with ``COPY`` (ids drawn from the sequence first), which skips building a
    model instance and a parameter list per row.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return _orders_create_many_postgres(orders)
    with transaction.atomic():
        instances = Order.objects.bulk_create([_order_instance(data) for data in orders])
        lines, payments = [], []
        for instance, data in zip(instances, orders, strict=True):
            lines.extend(_line_instances(instance, data))
            payments.extend(_payment_instances(instance, data))
        OrderLine.objects.bulk_create(lines)
        Payment.objects.bulk_create(payments)
    return [instance.pk for instance in instances]


def _differs(instance, values: dict) -> bool:
    return any(getattr(instance, name) != value for name, value in values.items())


def order_matches(order: Order, data: OrderData) -> bool:
    """True when ``order`` (with ``lines`` and ``payments`` prefetched) already is exactly ``data``."""
    if _differs(order, data.values()):
        return False
    lines = {line.line_number: line for line in order.lines.all()}
    if set(lines) != {line.line_number for line in data.lines}:
        return False
    if any(_differs(lines[line.line_number], line.values()) for line in data.lines):
        return False
    payments = {payment.sequential: payment for payment in order.payments.all()}
    if set(payments) != {payment.sequential for payment in data.payments}:
        return False
    return not any(_differs(payments[p.sequential], p.values()) for p in data.payments)


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An existing order as plain values (``order_values``, lines by number, payments by sequential)."""

    pk: int
    values: dict
    lines: dict[int, dict]
    payments: dict[int, dict]


LINE_VALUE_FIELDS = ("product_id", "seller_id", "quantity", "unit_price", "freight", "shipping_limit_at")
PAYMENT_VALUE_FIELDS = ("type", "value", "installments")


def order_snapshots(*, order_ids: list[int]) -> dict[str, OrderSnapshot]:
    """The orders with their lines and payments as plain values, by external id, in three queries.

    What a bulk replay compares against: model instances for thousands of orders, lines and payments cost
    several times more than the comparison itself.
    """
    if not order_ids:
        return {}
    lines: dict[int, dict[int, dict]] = {}
    for row in OrderLine.objects.filter(order_id__in=order_ids).values("order_id", "line_number", *LINE_VALUE_FIELDS):
        lines.setdefault(row.pop("order_id"), {})[row.pop("line_number")] = row
    payments: dict[int, dict[int, dict]] = {}
    for row in Payment.objects.filter(order_id__in=order_ids).values("order_id", "sequential", *PAYMENT_VALUE_FIELDS):
        payments.setdefault(row.pop("order_id"), {})[row.pop("sequential")] = row
    snapshots = {}
    for row in Order.objects.filter(pk__in=order_ids).values("pk", "external_id", "customer_id", *ORDER_FIELDS):
        pk, external_id = row.pop("pk"), row.pop("external_id")
        snapshots[external_id] = OrderSnapshot(pk, row, lines.get(pk, {}), payments.get(pk, {}))
    return snapshots


def order_snapshot_matches(snapshot: OrderSnapshot, data: OrderData) -> bool:
    """True when the stored order (a snapshot) already is exactly ``data`` (see :func:`order_matches`)."""
    if data.values() != snapshot.values:
        return False
    if set(snapshot.lines) != {line.line_number for line in data.lines}:
        return False
    if any(line.values() != snapshot.lines[line.line_number] for line in data.lines):
        return False
    if set(snapshot.payments) != {payment.sequential for payment in data.payments}:
        return False
    return not any(p.values() != snapshot.payments[p.sequential] for p in data.payments)


def order_upsert(*, data: OrderData, existing: Order | None = None) -> tuple[Order, str]:
    """Create or update one order by ``external_id`` with its lines and payments; see the module docstring.

    ``existing`` (with ``lines`` and ``payments`` prefetched) saves the look-up when the caller batched it.
    """
    with transaction.atomic():
        order = existing
        if order is None:
            order = (
                Order.objects.select_for_update()
                .prefetch_related("lines", "payments")
                .filter(external_id=data.external_id)
                .first()
            )
        if order is None:
            order = Order.objects.create(external_id=data.external_id, **data.values())
            OrderLine.objects.bulk_create(_line_instances(order, data))
            Payment.objects.bulk_create(_payment_instances(order, data))
            return order, CREATED

        changed = False
        values = data.values()
        if _differs(order, values):
            for name, value in values.items():
                setattr(order, name, value)
            order.save()
            changed = True

        lines = {line.line_number: line for line in order.lines.all()}
        wanted = {line.line_number for line in data.lines}
        missing = sorted(set(lines) - wanted)
        if missing:
            raise ValidationError(
                {
                    "lines": [
                        f"order {data.external_id} has line(s) {', '.join(map(str, missing))} that this payload "
                        "omits; lines cannot be removed (cancel the order instead)"
                    ]
                }
            )
        for line in data.lines:
            current = lines.get(line.line_number)
            if current is None:
                OrderLine.objects.create(order=order, line_number=line.line_number, **line.values())
                changed = True
            elif _differs(current, line.values()):
                OrderLine.objects.filter(pk=current.pk).update(**line.values())
                changed = True

        payments = {payment.sequential: payment for payment in order.payments.all()}
        wanted = {payment.sequential for payment in data.payments}
        stale = [payments[s].pk for s in set(payments) - wanted]
        if stale:
            Payment.objects.filter(pk__in=stale).delete()
            changed = True
        for payment in data.payments:
            current = payments.get(payment.sequential)
            if current is None:
                Payment.objects.create(order=order, sequential=payment.sequential, **payment.values())
                changed = True
            elif _differs(current, payment.values()):
                Payment.objects.filter(pk=current.pk).update(**payment.values())
                changed = True
    return order, UPDATED if changed else UNCHANGED

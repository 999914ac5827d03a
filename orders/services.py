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


@dataclass(frozen=True)
class LineData:
    """A validated order line."""

    line_number: int
    product: Product
    quantity: int
    unit_price: Decimal
    freight: Decimal = Decimal("0")
    seller: Seller | None = None
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
    customer: Customer
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


def _insert_columns(model, columns: dict[str, list], *, returning: str = "") -> list[tuple]:
    """PostgreSQL: one ``INSERT ... SELECT FROM unnest(array, ...)`` for many rows (no per-row SQL building)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names, casts = [], []
    for name in columns:
        field = model._meta.get_field(name)
        names.append(connection.ops.quote_name(field.column))
        casts.append(f"%s::{field.db_type(connection)}[]")
    sql = f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({', '.join(casts)})"
    if returning:
        sql += f" RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(columns.values()))
        return cursor.fetchall() if returning else []


def _orders_create_many_postgres(orders: list[OrderData]) -> list[int]:
    now = timezone.now()
    columns = {"external_id": [d.external_id for d in orders], "customer": [d.customer.pk for d in orders]}
    for name in ORDER_FIELDS:
        columns[name] = [getattr(d, name) for d in orders]
    columns["created_at"] = columns["updated_at"] = [now] * len(orders)
    ids = dict((external_id, pk) for pk, external_id in _insert_columns(Order, columns, returning="id, external_id"))
    lines = [(ids[d.external_id], line) for d in orders for line in d.lines]
    if lines:
        _insert_columns(
            OrderLine,
            {
                "order": [order_id for order_id, _ in lines],
                "line_number": [line.line_number for _, line in lines],
                "product": [line.product.pk for _, line in lines],
                "seller": [line.seller.pk if line.seller else None for _, line in lines],
                "quantity": [line.quantity for _, line in lines],
                "unit_price": [Decimal(line.unit_price) for _, line in lines],
                "freight": [Decimal(line.freight) for _, line in lines],
                "shipping_limit_at": [line.shipping_limit_at for _, line in lines],
            },
        )
    payments = [(ids[d.external_id], p) for d in orders for p in d.payments]
    if payments:
        _insert_columns(
            Payment,
            {
                "order": [order_id for order_id, _ in payments],
                "sequential": [p.sequential for _, p in payments],
                "type": [p.type for _, p in payments],
                "installments": [p.installments for _, p in payments],
                "value": [Decimal(p.value) for _, p in payments],
            },
        )
    return [ids[d.external_id] for d in orders]


def orders_create_many(*, orders: list[OrderData]) -> list[Order]:
    """Insert new orders with their lines and payments in three statements (all or none).

    The caller makes sure no order exists yet with these external ids; a clash raises ``IntegrityError``.
    On PostgreSQL the rows go in as column arrays (``unnest``), which skips building a model instance and
    a parameter list per row; the returned orders then carry only their pk and external id.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = _orders_create_many_postgres(orders)
        return [Order(pk=pk, external_id=d.external_id) for pk, d in zip(ids, orders, strict=True)]
    with transaction.atomic():
        instances = Order.objects.bulk_create([_order_instance(data) for data in orders])
        lines, payments = [], []
        for instance, data in zip(instances, orders, strict=True):
            lines.extend(_line_instances(instance, data))
            payments.extend(_payment_instances(instance, data))
        OrderLine.objects.bulk_create(lines)
        Payment.objects.bulk_create(payments)
    return instances


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

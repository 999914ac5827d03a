"""Olist customers, orders (with shipments), order items, payments and reviews."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Customer, Product, Seller
from feedback.models import Review
from logistics.models import Carrier, Shipment
from orders.models import Order, OrderLine, Payment

from ..reader import DuplicateTracker, Row
from ..upsert import Incoming, chunks, pk_map, upsert
from .common import (
    CUSTOMERS,
    DEFAULT_CARRIER_CODE,
    DEFAULT_CARRIER_NAME,
    ITEMS,
    ORDERS,
    PAYMENTS,
    PRODUCTS,
    REVIEWS,
    SELLERS,
    SHIPPED_STATUSES,
    ZERO,
    _Context,
    _lookup,
)

# The model field each optional column feeds (Row.keep_stored: a bad value there keeps the stored one).
ORDER_FIELDS = {
    "order_approved_at": "approved_at",
    "order_delivered_carrier_date": "handed_to_carrier_at",
    "order_delivered_customer_date": "delivered_at",
    "order_estimated_delivery_date": "promised_delivery_date",
}
ADDRESS_FIELDS = {"customer_zip_code_prefix": "zip_prefix", "customer_city": "city", "customer_state": "state"}
ITEM_FIELDS = {"shipping_limit_date": "shipping_limit_at"}
REVIEW_FIELDS = {
    "review_comment_title": "title",
    "review_creation_date": "created_at_source",
    "review_answer_timestamp": "answered_at",
}

# --- customers and orders ---------------------------------------------------------------------------------


@dataclass
class _OrderRow:
    row: Row  # its warnings are filed once the order is known to be written (its customer may be unknown)
    line: int
    order_id: str
    customer_ref: str
    status: str
    purchased_at: object
    approved_at: object
    handed_to_carrier_at: object
    delivered_at: object
    promised_delivery_date: object


def _parse_orders(ctx: _Context) -> list[_OrderRow]:
    table = ctx.tables[ORDERS]
    if table is None:
        return []
    seen = DuplicateTracker()
    result = []
    statuses = Order.Status.values  # a property that builds the list: once, not per row
    for line, values in table.rows:
        row = Row(table, line, values)
        order_id = row.text("order_id", required=True, max_length=64)
        customer_ref = row.text("customer_id", required=True, max_length=64)
        status = row.choice("order_status", statuses)
        purchased_at = row.datetime("order_purchase_timestamp", required=True)
        approved_at = row.datetime("order_approved_at")
        carrier_at = row.datetime("order_delivered_carrier_date")
        delivered_at = row.datetime("order_delivered_customer_date")
        promised = row.date("order_estimated_delivery_date")
        seen.check(row, order_id, column="order_id", label=f"order_id {order_id}")
        if not row.ok:
            row.reject_into(ctx.report)
            ctx.key_rejected(ORDERS, row.raw("order_id"), line)
            continue
        result.append(
            _OrderRow(
                row, line, order_id, customer_ref, status, purchased_at, approved_at, carrier_at, delivered_at, promised
            )
        )
    return result


def _customers(ctx: _Context, order_rows: list[_OrderRow]) -> tuple[dict[str, int], dict[str, dict]]:
    """Customers (persons) and ``{customer_id: {unique id, shipping address}}`` for the orders."""
    table = ctx.tables[CUSTOMERS]
    refs: dict[str, dict] = {}
    if table is None:
        return {}, refs
    seen = DuplicateTracker()
    last_purchase = {o.customer_ref: o.purchased_at for o in order_rows}
    persons: dict[str, tuple] = {}  # unique id -> (sort key, line, address, address fields left out)
    for line, values in table.rows:
        row = Row(table, line, values)
        customer_id = row.text("customer_id", required=True, max_length=64)
        unique_id = row.text("customer_unique_id", required=True, max_length=64)
        address = {
            "zip_prefix": row.text("customer_zip_code_prefix", max_length=8),
            "city": row.text("customer_city", max_length=128),
            "state": row.text("customer_state", max_length=8),
        }
        seen.check(row, customer_id, column="customer_id", label=f"customer_id {customer_id}")
        if not row.report_into(ctx.report):
            ctx.key_rejected(CUSTOMERS, row.raw("customer_id"), line)
            continue
        cleared = row.keep_stored(ADDRESS_FIELDS)
        refs[customer_id] = {"unique_id": unique_id, **address, "cleared": cleared}
        # The person's address is the one of their latest order (file order breaks ties).
        purchased = last_purchase.get(customer_id)
        sort_key = (purchased is not None, purchased.timestamp() if purchased else 0.0, line)
        if unique_id not in persons or sort_key > persons[unique_id][0]:
            persons[unique_id] = (sort_key, line, address, cleared)
    rows = [
        Incoming(line, {"external_id": uid, **address}, cleared) for uid, (_, line, address, cleared) in persons.items()
    ]
    upsert(
        model=Customer,
        rows=rows,
        key=["external_id"],
        fields=["zip_prefix", "city", "state"],
        count=ctx.file(CUSTOMERS).table("catalog.Customer"),
        on_error=ctx.rejecter(CUSTOMERS),
    )
    return pk_map(Customer, "external_id", persons), refs


def _orders(ctx: _Context, order_rows, customer_pks, customer_refs) -> dict[str, int]:
    if ctx.tables[ORDERS] is None:
        return {}
    file_report = ctx.file(ORDERS)
    # Orders may refer to customers imported earlier (a later orders-only file): find them by customer_ref.
    unknown_refs = {o.customer_ref for o in order_rows if o.customer_ref not in customer_refs}
    stored_refs = {}
    if unknown_refs:
        for part in chunks(sorted(unknown_refs), 900):
            for ref, customer_pk, zip_prefix, city, state in Order.objects.filter(customer_ref__in=part).values_list(
                "customer_ref", "customer_id", "shipping_zip_prefix", "shipping_city", "shipping_state"
            ):
                stored_refs[ref] = (customer_pk, {"zip_prefix": zip_prefix, "city": city, "state": state})
    rows = []
    for o in order_rows:
        if o.customer_ref in customer_refs:
            ref = customer_refs[o.customer_ref]
            customer_pk = customer_pks.get(ref["unique_id"])
            address = ref
        elif o.customer_ref in stored_refs:
            customer_pk, address = stored_refs[o.customer_ref]
        else:
            customer_pk = None
        if customer_pk is None:
            o.row.error("customer_id", ctx.missing(CUSTOMERS, "customer_id", o.customer_ref))
            o.row.reject_into(ctx.report)
            ctx.key_rejected(ORDERS, o.order_id, o.line)
            continue
        o.row.keep_into(ctx.report)
        keep = o.row.keep_stored(ORDER_FIELDS) | {f"shipping_{name}" for name in address.get("cleared", ())}
        rows.append(
            Incoming(
                o.line,
                {
                    "external_id": o.order_id,
                    "customer_id": customer_pk,
                    "customer_ref": o.customer_ref,
                    "status": o.status,
                    "purchased_at": o.purchased_at,
                    "approved_at": o.approved_at,
                    "handed_to_carrier_at": o.handed_to_carrier_at,
                    "delivered_at": o.delivered_at,
                    "promised_delivery_date": o.promised_delivery_date,
                    "shipping_zip_prefix": address["zip_prefix"],
                    "shipping_city": address["city"],
                    "shipping_state": address["state"],
                },
                keep,
            )
        )
    fields = [f for f in rows[0].values if f != "external_id"] if rows else []
    upsert(
        model=Order,
        rows=rows,
        key=["external_id"],
        fields=fields,
        count=file_report.table("orders.Order"),
        on_error=ctx.rejecter(ORDERS, key="external_id"),
    )
    order_pks = pk_map(Order, "external_id", [r.values["external_id"] for r in rows])
    # A stored order's kept values are in r.values now (upsert): its shipment gets them too.

    carrier, _ = Carrier.objects.get_or_create(code=DEFAULT_CARRIER_CODE, defaults={"name": DEFAULT_CARRIER_NAME})
    shipments = []
    for r in rows:
        v = r.values
        if v["status"] not in SHIPPED_STATUSES or v["external_id"] not in order_pks:
            continue
        delivered = v["status"] == Order.Status.DELIVERED
        shipments.append(
            Incoming(
                r.line,
                {
                    "order_id": order_pks[v["external_id"]],
                    "carrier_id": carrier.pk,
                    "status": Shipment.Status.DELIVERED if delivered else Shipment.Status.IN_TRANSIT,
                    "shipped_at": v["handed_to_carrier_at"],
                    "delivered_at": v["delivered_at"],
                    "estimated_delivery_date": v["promised_delivery_date"],
                },
            )
        )
    upsert(
        model=Shipment,
        rows=shipments,
        key=["order_id", "carrier_id"],
        fields=["status", "shipped_at", "delivered_at", "estimated_delivery_date"],
        conflict_upsert=False,
        count=file_report.table("logistics.Shipment"),
        on_error=ctx.rejecter(ORDERS),
    )
    return order_pks


def _items(ctx: _Context, order_pks, product_pks, seller_pks) -> None:
    table = ctx.tables[ITEMS]
    if table is None:
        return
    order_pks = _lookup(ctx, Order, "external_id", {v.get("order_id", "").strip() for _, v in table.rows}, order_pks)
    product_pks = _lookup(ctx, Product, "sku", {v.get("product_id", "").strip() for _, v in table.rows}, product_pks)
    seller_pks = _lookup(
        ctx, Seller, "external_id", {v.get("seller_id", "").strip() for _, v in table.rows}, seller_pks
    )
    seen = DuplicateTracker()
    rows = []
    for line, values in table.rows:
        row = Row(table, line, values)
        order_id = row.text("order_id", required=True)
        number = row.integer("order_item_id", min_value=1)
        product_id = row.text("product_id", required=True)
        seller_id = row.text("seller_id")
        limit = row.datetime("shipping_limit_date")
        price = row.decimal("price", min_value=ZERO)
        freight = row.decimal("freight_value", min_value=ZERO)
        if order_id and order_id not in order_pks:
            row.error("order_id", ctx.missing(ORDERS, "order_id", order_id))
        if product_id and product_id not in product_pks:
            row.error("product_id", ctx.missing(PRODUCTS, "product_id", product_id))
        if seller_id and seller_id not in seller_pks:
            row.error("seller_id", ctx.missing(SELLERS, "seller_id", seller_id))
        if number is not None:
            seen.check(row, (order_id, number), column="order_item_id", label=f"item {order_id}/{number}")
        if not row.report_into(ctx.report):
            continue
        rows.append(
            Incoming(
                line,
                {
                    "order_id": order_pks[order_id],
                    "line_number": number,
                    "product_id": product_pks[product_id],
                    "seller_id": seller_pks.get(seller_id),
                    "quantity": 1,
                    "unit_price": price,
                    "freight": freight,
                    "shipping_limit_at": limit,
                },
                row.keep_stored(ITEM_FIELDS),
            )
        )
    upsert(
        model=OrderLine,
        rows=rows,
        key=["order_id", "line_number"],
        fields=["product_id", "seller_id", "quantity", "unit_price", "freight", "shipping_limit_at"],
        count=ctx.file(ITEMS).table("orders.OrderLine"),
        on_error=ctx.rejecter(ITEMS),
    )


def _payments(ctx: _Context, order_pks) -> None:
    table = ctx.tables[PAYMENTS]
    if table is None:
        return
    order_pks = _lookup(ctx, Order, "external_id", {v.get("order_id", "").strip() for _, v in table.rows}, order_pks)
    seen = DuplicateTracker()
    rows = []
    kinds = Payment.Type.values
    for line, values in table.rows:
        row = Row(table, line, values)
        order_id = row.text("order_id", required=True)
        sequential = row.integer("payment_sequential", min_value=1)
        kind = row.choice("payment_type", kinds)
        installments = row.integer("payment_installments", min_value=0)
        value = row.decimal("payment_value", min_value=ZERO)
        if order_id and order_id not in order_pks:
            row.error("order_id", ctx.missing(ORDERS, "order_id", order_id))
        if sequential is not None:
            seen.check(
                row, (order_id, sequential), column="payment_sequential", label=f"payment {order_id}/{sequential}"
            )
        if not row.report_into(ctx.report):
            continue
        rows.append(
            Incoming(
                line,
                {
                    "order_id": order_pks[order_id],
                    "sequential": sequential,
                    "type": kind,
                    "installments": installments,
                    "value": value,
                },
            )
        )
    upsert(
        model=Payment,
        rows=rows,
        key=["order_id", "sequential"],
        fields=["type", "installments", "value"],
        count=ctx.file(PAYMENTS).table("orders.Payment"),
        on_error=ctx.rejecter(PAYMENTS),
    )


def _reviews(ctx: _Context, order_pks) -> None:
    table = ctx.tables[REVIEWS]
    if table is None:
        return
    order_pks = _lookup(ctx, Order, "external_id", {v.get("order_id", "").strip() for _, v in table.rows}, order_pks)
    seen = DuplicateTracker()
    rows = []
    for line, values in table.rows:
        row = Row(table, line, values)
        review_id = row.text("review_id", required=True, max_length=64)
        order_id = row.text("order_id", required=True)
        score = row.integer("review_score", min_value=1, max_value=5)
        title = row.text("review_comment_title", max_length=255)
        text = (values.get("review_comment_message") or "").strip()
        created = row.datetime("review_creation_date")
        answered = row.datetime("review_answer_timestamp")
        if order_id and order_id not in order_pks:
            row.error("order_id", ctx.missing(ORDERS, "order_id", order_id))
        seen.check(row, (review_id, order_id), column="review_id", label=f"review {review_id} of order {order_id}")
        if not row.report_into(ctx.report):
            continue
        rows.append(
            Incoming(
                line,
                {
                    "source": Review.Source.STORE,
                    "external_id": review_id,
                    "order_id": order_pks[order_id],
                    "channel": "",
                    "score": score,
                    "title": title,
                    "text": text,
                    "language": "pt",
                    "created_at_source": created,
                    "answered_at": answered,
                },
                row.keep_stored(REVIEW_FIELDS),
            )
        )
    upsert(
        model=Review,
        rows=rows,
        key=["order_id", "external_id", "source"],
        fields=["score", "title", "text", "language", "created_at_source", "answered_at"],
        conflict_upsert=False,
        count=ctx.file(REVIEWS).table("feedback.Review"),
        on_error=ctx.rejecter(REVIEWS),
    )

"""Import the Olist marketplace CSV folder (9 files) into catalog, orders, logistics, feedback and inventory.

Mapping (natural keys in brackets):

- ``product_category_name_translation.csv`` -> catalog.Category [name], English name beside it;
  categories used by products but missing from the translation are created with an empty English name.
- ``olist_sellers_dataset.csv`` -> catalog.Seller [external_id], and one inventory.Location per seller
  [code ``SELLER-<first 8 of seller_id>``, kind seller, zip / city / state and the zip area's centre], so
  order-line demand has a location to be counted at.
- ``olist_geolocation_dataset.csv`` -> logistics.ZipArea [prefix]: mean latitude / longitude of the rows
  of a prefix, their count, and the most frequent city / state.
- ``olist_products_dataset.csv`` -> catalog.Product [sku = product_id]: category (may be empty), weight,
  dimensions; the seller is the one that sold it most often in the items file. Olist has no product
  names, costs or list prices: name stays empty, unit_cost and list_price stay null.
- ``olist_customers_dataset.csv`` -> catalog.Customer [external_id = customer_unique_id, the person]
  with the zip / city / state of the person's latest order; ``customer_id`` is per order and becomes
  ``Order.customer_ref`` and the order's shipping address.
- ``olist_orders_dataset.csv`` -> orders.Order [external_id]: status (Olist's statuses are ours), purchase /
  approval / carrier hand-off / delivery timestamps, ``promised_delivery_date`` from
  ``order_estimated_delivery_date``; and for every shipped or delivered order one logistics.Shipment
  [order, default carrier] with hand-off, delivery and estimated dates.
- ``olist_order_items_dataset.csv`` -> orders.OrderLine [order, line_number = order_item_id].
- ``olist_order_payments_dataset.csv`` -> orders.Payment [order, sequential].
- ``olist_order_reviews_dataset.csv`` -> feedback.Review [source store, external_id = review_id, order]
  (a review_id can repeat across orders), language ``pt``.

Timestamps carry no zone in Olist (Brazilian wall-clock time); they are read in the project's
TIME_ZONE so that dates compare with the promised delivery dates as they do in the source.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from catalog.models import Category, Customer, Product, Seller
from feedback.models import Review
from inventory.models import Location
from logistics.models import Carrier, Shipment, ZipArea
from orders.models import Order, OrderLine, Payment

from .reader import CsvTable, DuplicateTracker, Row, read_csv
from .report import FileReport, ImportReport
from .upsert import Incoming, chunks, import_lock, pk_map, upsert

logger = logging.getLogger(__name__)

TRANSLATION = "product_category_name_translation.csv"
SELLERS = "olist_sellers_dataset.csv"
GEOLOCATION = "olist_geolocation_dataset.csv"
PRODUCTS = "olist_products_dataset.csv"
CUSTOMERS = "olist_customers_dataset.csv"
ORDERS = "olist_orders_dataset.csv"
ITEMS = "olist_order_items_dataset.csv"
PAYMENTS = "olist_order_payments_dataset.csv"
REVIEWS = "olist_order_reviews_dataset.csv"

COLUMNS = {
    TRANSLATION: ["product_category_name", "product_category_name_english"],
    SELLERS: ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
    GEOLOCATION: [
        "geolocation_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "geolocation_city",
        "geolocation_state",
    ],
    PRODUCTS: [
        "product_id",
        "product_category_name",
        "product_weight_g",
        "product_length_cm",
        "product_height_cm",
        "product_width_cm",
    ],
    CUSTOMERS: ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"],
    ORDERS: [
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ],
    ITEMS: ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"],
    PAYMENTS: ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
    REVIEWS: [
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    ],
}
FILES = list(COLUMNS)

DEFAULT_CARRIER_CODE = "OLIST"
DEFAULT_CARRIER_NAME = "Olist carrier (not named in the data)"
SELLER_LOCATION_PREFIX = "SELLER-"
SHIPPED_STATUSES = {Order.Status.SHIPPED, Order.Status.DELIVERED}
ZERO = Decimal("0")


def seller_location_code(seller_id: str) -> str:
    return f"{SELLER_LOCATION_PREFIX}{seller_id[:8]}"


@dataclass
class _Context:
    report: ImportReport
    tables: dict[str, CsvTable | None]

    def file(self, name: str) -> FileReport:
        return self.report.file(name)

    def rejecter(self, name: str):
        def reject(row: Incoming, reason: str) -> None:
            self.file(name).rejected += 1
            self.report.reject(file=name, line=row.line, field="-", reason=reason)

        return reject


def olist_import(*, directory: Path, encoding: str = "auto") -> ImportReport:
    """Import (or re-import) an Olist folder; returns the report. Idempotent: a re-run changes nothing."""
    started = time.perf_counter()
    directory = Path(directory)
    report = ImportReport(source=f"olist {directory}")
    if not directory.is_dir():
        report.file(str(directory)).error = "not a directory"
        return report
    tables = {
        name: read_csv(directory / name, required=columns, report=report, encoding=encoding)
        for name, columns in COLUMNS.items()
    }
    with import_lock():
        _write_all(_Context(report=report, tables=tables))
    report.seconds = time.perf_counter() - started
    logger.info(
        "olist import: %d created, %d updated, %d rejected", report.created, report.updated, len(report.rejected)
    )
    return report


def _write_all(ctx: _Context) -> None:
    category_pks = _categories(ctx)
    zip_areas = _zip_areas(ctx)
    seller_pks = _sellers(ctx, zip_areas)
    order_rows = _parse_orders(ctx)
    customer_pks, customer_refs = _customers(ctx, order_rows)
    order_pks = _orders(ctx, order_rows, customer_pks, customer_refs)
    product_pks = _products(ctx, category_pks, seller_pks)
    _items(ctx, order_pks, product_pks, seller_pks)
    _payments(ctx, order_pks)
    _reviews(ctx, order_pks)


# --- categories ------------------------------------------------------------------------------------------


def _categories(ctx: _Context) -> dict[str, int]:
    name_len = Category._meta.get_field("name").max_length
    translation = ctx.tables[TRANSLATION]
    rows: list[Incoming] = []
    seen = DuplicateTracker()
    if translation is not None:
        for line, values in translation.rows:
            row = Row(translation, line, values)
            name = row.text("product_category_name", required=True, max_length=name_len)
            name_en = row.text("product_category_name_english", max_length=name_len)
            seen.check(row, name, column="product_category_name", label=f"category {name!r}")
            if not row.ok:
                row.reject_into(ctx.report)
                continue
            rows.append(Incoming(line, {"name": name, "name_en": name_en}))
        upsert(
            model=Category,
            rows=rows,
            key=["name"],
            fields=["name_en"],
            count=ctx.file(TRANSLATION).table("catalog.Category"),
            on_error=ctx.rejecter(TRANSLATION),
        )
    # Categories that products use but the translation lacks: created, never overwritten.
    products = ctx.tables[PRODUCTS]
    known = {r.values["name"] for r in rows}
    extra: dict[str, int] = {}
    if products is not None:
        for line, values in products.rows:
            name = (values.get("product_category_name") or "").strip()
            if name and name not in known and len(name) <= name_len:
                extra.setdefault(name, line)
    if extra:
        upsert(
            model=Category,
            rows=[Incoming(line, {"name": name, "name_en": ""}) for name, line in extra.items()],
            key=["name"],
            fields=[],
            conflict_upsert=False,
            count=ctx.file(PRODUCTS).table("catalog.Category"),
            on_error=ctx.rejecter(PRODUCTS),
        )
    return pk_map(Category, "name", known | set(extra))


# --- geography and sellers --------------------------------------------------------------------------------


def _zip_areas(ctx: _Context) -> dict[str, tuple[float, float]]:
    """ZipArea rows from geolocation; returns ``{prefix: (lat, lng)}`` for the sellers' locations."""
    table = ctx.tables[GEOLOCATION]
    if table is None:
        return {
            prefix: (lat, lng) for prefix, lat, lng in ZipArea.objects.values_list("prefix", "latitude", "longitude")
        }
    sums: dict[str, list] = {}
    places: dict[str, Counter] = defaultdict(Counter)
    first_line: dict[str, int] = {}
    for line, values in table.rows:
        row = Row(table, line, values)
        prefix = row.text("geolocation_zip_code_prefix", required=True, max_length=8)
        lat = row.number("geolocation_lat", min_value=-90, max_value=90)
        lng = row.number("geolocation_lng", min_value=-180, max_value=180)
        city = row.text("geolocation_city", max_length=128)
        state = row.text("geolocation_state", max_length=8)
        if not row.ok:
            row.reject_into(ctx.report)
            continue
        acc = sums.setdefault(prefix, [0.0, 0.0, 0])
        acc[0] += lat
        acc[1] += lng
        acc[2] += 1
        places[prefix][(city, state)] += 1
        first_line.setdefault(prefix, line)
    rows = []
    centres = {}
    for prefix, (lat_sum, lng_sum, n) in sums.items():
        (city, state), _ = min(places[prefix].items(), key=lambda item: (-item[1], item[0]))
        lat, lng = lat_sum / n, lng_sum / n
        centres[prefix] = (lat, lng)
        rows.append(
            Incoming(
                first_line[prefix],
                {"prefix": prefix, "latitude": lat, "longitude": lng, "city": city, "state": state, "points": n},
            )
        )
    upsert(
        model=ZipArea,
        rows=rows,
        key=["prefix"],
        fields=["latitude", "longitude", "city", "state", "points"],
        count=ctx.file(GEOLOCATION).table("logistics.ZipArea"),
        on_error=ctx.rejecter(GEOLOCATION),
    )
    return centres


def _sellers(ctx: _Context, centres: dict[str, tuple[float, float]]) -> dict[str, int]:
    table = ctx.tables[SELLERS]
    if table is None:
        return {}
    seen = DuplicateTracker()
    rows: list[Incoming] = []
    for line, values in table.rows:
        row = Row(table, line, values)
        external_id = row.text("seller_id", required=True, max_length=64)
        zip_prefix = row.text("seller_zip_code_prefix", max_length=8)
        city = row.text("seller_city", max_length=128)
        state = row.text("seller_state", max_length=8)
        seen.check(row, external_id, column="seller_id", label=f"seller_id {external_id}")
        if not row.ok:
            row.reject_into(ctx.report)
            continue
        rows.append(
            Incoming(line, {"external_id": external_id, "zip_prefix": zip_prefix, "city": city, "state": state})
        )
    file_report = ctx.file(SELLERS)
    upsert(
        model=Seller,
        rows=rows,
        key=["external_id"],
        fields=["zip_prefix", "city", "state"],
        count=file_report.table("catalog.Seller"),
        on_error=ctx.rejecter(SELLERS),
    )
    seller_pks = pk_map(Seller, "external_id", [r.values["external_id"] for r in rows])

    # One location per seller, so that order-line demand has a place; the code keeps 8 characters of the id.
    by_code: dict[str, Incoming] = {}
    for row in rows:
        seller_id = row.values["external_id"]
        if seller_id not in seller_pks:
            continue
        code = seller_location_code(seller_id)
        if code in by_code:
            other = by_code[code].values["attributes"]["seller_external_id"]
            file_report.notes.append(
                f"sellers {other} and {seller_id} share location code {code}; only the first has one"
            )
            continue
        lat, lng = centres.get(row.values["zip_prefix"], (None, None))
        by_code[code] = Incoming(
            row.line,
            {
                "code": code,
                "name": f"Seller {seller_id[:8]}",
                "kind": Location.Kind.SELLER,
                "zip_prefix": row.values["zip_prefix"],
                "city": row.values["city"],
                "state": row.values["state"],
                "latitude": lat,
                "longitude": lng,
                "attributes": {"seller_external_id": seller_id},
            },
        )
    upsert(
        model=Location,
        rows=list(by_code.values()),
        key=["code"],
        fields=["name", "kind", "zip_prefix", "city", "state", "latitude", "longitude", "attributes"],
        count=file_report.table("inventory.Location"),
        on_error=ctx.rejecter(SELLERS),
    )
    return seller_pks


# --- customers and orders ---------------------------------------------------------------------------------


@dataclass
class _OrderRow:
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
    for line, values in table.rows:
        row = Row(table, line, values)
        order_id = row.text("order_id", required=True, max_length=64)
        customer_ref = row.text("customer_id", required=True, max_length=64)
        status = row.choice("order_status", Order.Status.values)
        purchased_at = row.datetime("order_purchase_timestamp", required=True)
        approved_at = row.datetime("order_approved_at")
        carrier_at = row.datetime("order_delivered_carrier_date")
        delivered_at = row.datetime("order_delivered_customer_date")
        promised = row.date("order_estimated_delivery_date")
        seen.check(row, order_id, column="order_id", label=f"order_id {order_id}")
        if not row.ok:
            row.reject_into(ctx.report)
            continue
        result.append(
            _OrderRow(
                line, order_id, customer_ref, status, purchased_at, approved_at, carrier_at, delivered_at, promised
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
    persons: dict[str, tuple] = {}  # unique id -> (sort key, line, address)
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
        if not row.ok:
            row.reject_into(ctx.report)
            continue
        refs[customer_id] = {"unique_id": unique_id, **address}
        # The person's address is the one of their latest order (file order breaks ties).
        purchased = last_purchase.get(customer_id)
        sort_key = (purchased is not None, purchased.timestamp() if purchased else 0.0, line)
        if unique_id not in persons or sort_key > persons[unique_id][0]:
            persons[unique_id] = (sort_key, line, address)
    rows = [Incoming(line, {"external_id": uid, **address}) for uid, (_, line, address) in persons.items()]
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
            file_report.rejected += 1
            ctx.report.reject(
                file=ORDERS, line=o.line, field="customer_id", reason=f"unknown customer_id {o.customer_ref}"
            )
            continue
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
            )
        )
    fields = [f for f in rows[0].values if f != "external_id"] if rows else []
    upsert(
        model=Order,
        rows=rows,
        key=["external_id"],
        fields=fields,
        count=file_report.table("orders.Order"),
        on_error=ctx.rejecter(ORDERS),
    )
    order_pks = pk_map(Order, "external_id", [r.values["external_id"] for r in rows])

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


# --- products, items, payments, reviews -------------------------------------------------------------------


def _products(ctx: _Context, category_pks: dict[str, int], seller_pks: dict[str, int]) -> dict[str, int]:
    table = ctx.tables[PRODUCTS]
    if table is None:
        return {}
    # The seller of a product: whoever sold it most often (ties: smallest id), when the items file is here.
    items = ctx.tables[ITEMS]
    sold_by: dict[str, Counter] = defaultdict(Counter)
    if items is not None:
        for _, values in items.rows:
            sold_by[(values.get("product_id") or "").strip()][(values.get("seller_id") or "").strip()] += 1
    seen = DuplicateTracker()
    rows = []
    for line, values in table.rows:
        row = Row(table, line, values)
        sku = row.text("product_id", required=True, max_length=64)
        category = row.text("product_category_name")
        category_pk = None
        if category:
            category_pk = category_pks.get(category)
            if category_pk is None:
                row.error("product_category_name", f"unknown category {category!r}")
        dims = {
            "weight_g": row.integer("product_weight_g", required=False, min_value=0),
            "length_cm": row.integer("product_length_cm", required=False, min_value=0),
            "height_cm": row.integer("product_height_cm", required=False, min_value=0),
            "width_cm": row.integer("product_width_cm", required=False, min_value=0),
        }
        seen.check(row, sku, column="product_id", label=f"product_id {sku}")
        if not row.ok:
            row.reject_into(ctx.report)
            continue
        values_out = {"sku": sku, "name": "", "category_id": category_pk, **dims}
        sellers = sold_by.get(sku)
        if sellers:
            seller_id = min(sellers.items(), key=lambda item: (-item[1], item[0]))[0]
            values_out["seller_id"] = seller_pks.get(seller_id)
        else:
            values_out["seller_id"] = None
        rows.append(Incoming(line, values_out))
    fields = ["category_id", "weight_g", "length_cm", "height_cm", "width_cm"]
    if items is not None:
        fields.append("seller_id")
    upsert(
        model=Product,
        rows=rows,
        key=["sku"],
        fields=fields,
        count=ctx.file(PRODUCTS).table("catalog.Product"),
        on_error=ctx.rejecter(PRODUCTS),
    )
    return pk_map(Product, "sku", [r.values["sku"] for r in rows])


def _lookup(ctx: _Context, model, field: str, wanted: set[str], known: dict[str, int]) -> dict[str, int]:
    """``known`` plus the stored rows for keys not in it (files imported before)."""
    missing = wanted - known.keys()
    if not missing:
        return known
    return {**known, **pk_map(model, field, missing)}


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
            row.error("order_id", f"unknown order_id {order_id}")
        if product_id and product_id not in product_pks:
            row.error("product_id", f"unknown product_id {product_id}")
        if seller_id and seller_id not in seller_pks:
            row.error("seller_id", f"unknown seller_id {seller_id}")
        if number is not None:
            seen.check(row, (order_id, number), column="order_item_id", label=f"item {order_id}/{number}")
        if not row.ok:
            row.reject_into(ctx.report)
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
    for line, values in table.rows:
        row = Row(table, line, values)
        order_id = row.text("order_id", required=True)
        sequential = row.integer("payment_sequential", min_value=1)
        kind = row.choice("payment_type", Payment.Type.values)
        installments = row.integer("payment_installments", min_value=0)
        value = row.decimal("payment_value", min_value=ZERO)
        if order_id and order_id not in order_pks:
            row.error("order_id", f"unknown order_id {order_id}")
        if sequential is not None:
            seen.check(
                row, (order_id, sequential), column="payment_sequential", label=f"payment {order_id}/{sequential}"
            )
        if not row.ok:
            row.reject_into(ctx.report)
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
            row.error("order_id", f"unknown order_id {order_id}")
        seen.check(row, (review_id, order_id), column="review_id", label=f"review {review_id} of order {order_id}")
        if not row.ok:
            row.reject_into(ctx.report)
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

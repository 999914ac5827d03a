"""Olist categories, geography (zip areas), sellers with their locations, and products."""

from __future__ import annotations

from collections import Counter, defaultdict

from catalog.models import Category, Product, Seller
from inventory.models import Location
from logistics.models import ZipArea

from ..reader import DuplicateTracker, Row
from ..upsert import Incoming, pk_map, upsert
from .common import (
    GEOLOCATION,
    ITEMS,
    PRODUCTS,
    SELLERS,
    TRANSLATION,
    _Context,
    seller_location_code,
)

# The model field each optional column feeds (Row.keep_stored: a bad value there keeps the stored one).
SELLER_FIELDS = {"seller_zip_code_prefix": "zip_prefix", "seller_city": "city", "seller_state": "state"}
PRODUCT_FIELDS = {
    "product_category_name": "category_id",
    "product_weight_g": "weight_g",
    "product_length_cm": "length_cm",
    "product_height_cm": "height_cm",
    "product_width_cm": "width_cm",
}

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
            if not row.report_into(ctx.report):
                continue
            keep = row.keep_stored({"product_category_name_english": "name_en"})
            rows.append(Incoming(line, {"name": name, "name_en": name_en}, keep))
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
        if not row.report_into(ctx.report):
            continue
        acc = sums.setdefault(prefix, [0.0, 0.0, 0])
        acc[0] += lat
        acc[1] += lng
        acc[2] += 1
        if not row.cleared:  # a row whose city or state was bad does not vote for the area's name
            places[prefix][(city, state)] += 1
        first_line.setdefault(prefix, line)
    rows = []
    centres = {}
    for prefix, (lat_sum, lng_sum, n) in sums.items():
        votes = places.get(prefix)
        # No row named the area with a good city and state: a stored area keeps its name.
        (city, state), _ = min(votes.items(), key=lambda item: (-item[1], item[0])) if votes else (("", ""), 0)
        lat, lng = lat_sum / n, lng_sum / n
        centres[prefix] = (lat, lng)
        rows.append(
            Incoming(
                first_line[prefix],
                {"prefix": prefix, "latitude": lat, "longitude": lng, "city": city, "state": state, "points": n},
                frozenset() if votes else frozenset({"city", "state"}),
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
        if not row.report_into(ctx.report):
            ctx.key_rejected(SELLERS, row.raw("seller_id"), line)
            continue
        rows.append(
            Incoming(
                line,
                {"external_id": external_id, "zip_prefix": zip_prefix, "city": city, "state": state},
                row.keep_stored(SELLER_FIELDS),
            )
        )
    file_report = ctx.file(SELLERS)
    upsert(
        model=Seller,
        rows=rows,
        key=["external_id"],
        fields=["zip_prefix", "city", "state"],
        count=file_report.table("catalog.Seller"),
        on_error=ctx.rejecter(SELLERS, key="external_id"),
    )
    seller_pks = pk_map(Seller, "external_id", [r.values["external_id"] for r in rows])

    # One location per seller, so that order-line demand has a place; the code keeps 8 characters of the id.
    # A stored seller's kept values are in row.values now (upsert); a new one's left-out values stay empty.
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
            row.keep_stored | ({"latitude", "longitude"} if "zip_prefix" in row.keep_stored else set()),
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
    name_len = Category._meta.get_field("name").max_length
    seen = DuplicateTracker()
    rows = []
    for line, values in table.rows:
        row = Row(table, line, values)
        sku = row.text("product_id", required=True, max_length=64)
        category = row.text("product_category_name", max_length=name_len)  # too long: kept without a category
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
        if not row.report_into(ctx.report):
            ctx.key_rejected(PRODUCTS, row.raw("product_id"), line)
            continue
        values_out = {"sku": sku, "name": "", "category_id": category_pk, **dims}
        sellers = sold_by.get(sku)
        if sellers:
            seller_id = min(sellers.items(), key=lambda item: (-item[1], item[0]))[0]
            values_out["seller_id"] = seller_pks.get(seller_id)
        else:
            values_out["seller_id"] = None
        rows.append(Incoming(line, values_out, row.keep_stored(PRODUCT_FIELDS)))
    fields = ["category_id", "weight_g", "length_cm", "height_cm", "width_cm"]
    if items is not None:
        fields.append("seller_id")
    upsert(
        model=Product,
        rows=rows,
        key=["sku"],
        fields=fields,
        count=ctx.file(PRODUCTS).table("catalog.Product"),
        on_error=ctx.rejecter(PRODUCTS, key="sku"),
    )
    return pk_map(Product, "sku", [r.values["sku"] for r in rows])

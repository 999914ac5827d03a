"""import_olist on small folders written by the tests: mapping, idempotency, rejected rows, file errors."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Category, Customer, Product, Seller
from feedback.models import Review
from ingest.olist import olist_import
from ingest.report import ClearedField, RejectedRow
from inventory.models import Location
from logistics.models import Carrier, Shipment, ZipArea
from orders.models import Order, OrderLine, Payment

from .files import OLIST, write_olist

pytestmark = pytest.mark.django_db

S1 = "s1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
S2 = "s2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
ITEMS = "olist_order_items_dataset"
ORDERS = "olist_orders_dataset"
HINT = "(expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"
KEPT = "value not imported: a new row is left without it, an existing row keeps its stored value"


# what the clean small folder imports
ALL_ROWS = {
    "categories": 3,
    "sellers": 2,
    "locations": 2,
    "zip_areas": 2,
    "products": 3,
    "customers": 2,
    "orders": 3,
    "lines": 3,
    "payments": 3,
    "reviews": 3,
    "shipments": 2,
}


OLIST_STEMS = [name.removesuffix(".csv") for name in OLIST]


def snapshot() -> dict:
    """Every stored value the Olist import writes, by table."""
    return {
        model.__name__: sorted(model.objects.values_list(*[f.attname for f in model._meta.concrete_fields
                                                            if f.attname not in ("id", "created_at", "updated_at")]))
        for model in (Category, ZipArea, Seller, Location, Product, Customer, Order, Shipment, OrderLine, Payment,
                      Review)
    }  # fmt: skip


def rows_of(stem: str) -> list[list[str]]:
    return [list(r) for r in OLIST[f"{stem}.csv"]]


def table_counts():
    return {
        "categories": Category.objects.count(),
        "sellers": Seller.objects.count(),
        "locations": Location.objects.count(),
        "zip_areas": ZipArea.objects.count(),
        "products": Product.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "payments": Payment.objects.count(),
        "reviews": Review.objects.count(),
        "shipments": Shipment.objects.count(),
    }


def test_imports_every_file_into_its_tables(tmp_path):
    report = olist_import(directory=write_olist(tmp_path))

    assert report.ok and report.rejected == []
    assert table_counts() == ALL_ROWS
    assert report.files["olist_customers_dataset.csv"].read == 3
    assert report.files["olist_customers_dataset.csv"].tables["catalog.Customer"].created == 2
    assert report.files["olist_orders_dataset.csv"].tables["logistics.Shipment"].created == 2
    assert report.files["olist_geolocation_dataset.csv"].read == 4
    assert report.files["olist_products_dataset.csv"].tables["catalog.Category"].created == 1  # pc_gamer

    assert Category.objects.get(name="beleza_saude").name_en == "health_beauty"
    assert Category.objects.get(name="pc_gamer").name_en == ""

    p1, p2, p3 = Product.objects.order_by("sku")
    assert (p1.sku, p1.category.name, p1.seller.external_id, p1.weight_g, p1.length_cm, p1.height_cm, p1.width_cm) == (
        "p1",
        "beleza_saude",
        S1,
        500,
        20,
        10,
        15,
    )
    assert (p1.unit_cost, p1.list_price) == (None, None)
    assert (p2.category, p2.seller.external_id) == (None, S2)
    assert (p3.category.name, p3.seller, p3.length_cm) == ("pc_gamer", None, None)

    # One person (u1) with two per-order customer ids; the address is that of the latest order (c2).
    u1 = Customer.objects.get(external_id="u1")
    assert (u1.zip_prefix, u1.city, u1.state) == ("20231", "rio de janeiro", "RJ")
    o1 = Order.objects.get(external_id="o1")
    assert o1.customer == u1
    assert (o1.customer_ref, o1.shipping_zip_prefix, o1.shipping_city, o1.shipping_state) == (
        "c1",
        "35182",
        "timoteo",
        "MG",
    )
    assert o1.status == Order.Status.DELIVERED
    assert o1.purchased_at == datetime(2017, 7, 9, 21, 57, 5, tzinfo=UTC)
    assert o1.approved_at == datetime(2017, 7, 9, 22, 10, 13, tzinfo=UTC)
    assert o1.handed_to_carrier_at == datetime(2017, 7, 11, 14, 58, 4, tzinfo=UTC)
    assert o1.delivered_at == datetime(2017, 7, 26, 10, 57, 55, tzinfo=UTC)
    assert o1.promised_delivery_date == date(2017, 8, 1)
    o3 = Order.objects.get(external_id="o3")
    assert (o3.status, o3.approved_at, o3.lines.count()) == (Order.Status.CANCELED, None, 0)

    line = OrderLine.objects.get(order=o1, line_number=1)
    assert (line.product.sku, line.seller.external_id, line.quantity, line.unit_price, line.freight) == (
        "p1",
        S1,
        1,
        Decimal("144.00"),
        Decimal("8.77"),
    )
    assert line.shipping_limit_at == datetime(2017, 7, 13, 22, 10, 13, tzinfo=UTC)
    assert [(p.sequential, p.type, p.installments, p.value) for p in o1.payments.order_by("sequential")] == [
        (1, Payment.Type.CREDIT_CARD, 2, Decimal("176.61")),
        (2, Payment.Type.VOUCHER, 1, Decimal("10.00")),
    ]

    # review r1 repeats across orders o1 and o2: two reviews.
    assert sorted(Review.objects.filter(external_id="r1").values_list("order__external_id", "score")) == [
        ("o1", 5),
        ("o2", 4),
    ]
    r2 = Review.objects.get(external_id="r2")
    assert (r2.source, r2.language, r2.text, r2.title) == ("store", "pt", "Não recebi\nnada, cancelaram", "")
    assert r2.created_at_source == datetime(2018, 2, 21, tzinfo=UTC)
    assert r2.answered_at == datetime(2018, 2, 22, 9, 30, tzinfo=UTC)

    carrier = Carrier.objects.get()
    shipped = {s.order.external_id: s for s in Shipment.objects.select_related("order")}
    assert set(shipped) == {"o1", "o2"}
    assert (shipped["o1"].carrier, shipped["o1"].status, shipped["o1"].estimated_delivery_date) == (
        carrier,
        Shipment.Status.DELIVERED,
        date(2017, 8, 1),
    )
    assert shipped["o1"].shipped_at == o1.handed_to_carrier_at
    assert shipped["o1"].delivered_at == o1.delivered_at
    assert (shipped["o2"].status, shipped["o2"].delivered_at) == (Shipment.Status.IN_TRANSIT, None)

    area = ZipArea.objects.get(prefix="01001")
    assert (area.points, area.city, area.state) == (3, "sao paulo", "SP")
    assert area.latitude == pytest.approx(-23.6)
    assert area.longitude == pytest.approx(-46.7)
    location = Location.objects.get(code="SELLER-s1aaaaaa")
    assert (location.kind, location.zip_prefix, location.attributes) == (
        Location.Kind.SELLER,
        "01001",
        {"seller_external_id": S1},
    )
    assert location.latitude == pytest.approx(-23.6)


def test_second_run_creates_and_updates_nothing(tmp_path):
    folder = write_olist(tmp_path)
    olist_import(directory=folder)
    stamps = dict(Order.objects.values_list("external_id", "updated_at"))

    report = olist_import(directory=folder)

    assert (report.created, report.updated, report.rejected) == (0, 0, [])
    assert report.files["olist_orders_dataset.csv"].tables["orders.Order"].unchanged == 3
    assert report.files["olist_order_reviews_dataset.csv"].tables["feedback.Review"].unchanged == 3
    assert dict(Order.objects.values_list("external_id", "updated_at")) == stamps
    assert table_counts()["orders"] == 3


def test_a_changed_row_is_counted_as_updated_and_written(tmp_path):
    olist_import(directory=write_olist(tmp_path / "a"))
    orders = rows_of(ORDERS)
    orders[2][2] = "delivered"
    orders[2][6] = "2018-01-10 15:00:00"

    report = olist_import(directory=write_olist(tmp_path / "b", **{ORDERS: orders}))

    counts = report.files["olist_orders_dataset.csv"].tables
    assert (counts["orders.Order"].created, counts["orders.Order"].updated, counts["orders.Order"].unchanged) == (
        0,
        1,
        2,
    )
    assert (counts["logistics.Shipment"].updated, counts["logistics.Shipment"].unchanged) == (1, 1)
    o2 = Order.objects.get(external_id="o2")
    assert (o2.status, o2.delivered_at) == (Order.Status.DELIVERED, datetime(2018, 1, 10, 15, tzinfo=UTC))
    assert o2.shipments.get().status == Shipment.Status.DELIVERED
    assert report.updated == 2


def test_bad_rows_are_rejected_with_file_line_field_and_reason_and_valid_rows_kept(tmp_path):
    items = rows_of(ITEMS) + [
        ["o9", "1", "p1", S1, "2017-07-13 22:10:13", "10.00", "1.00"],  # line 5: unknown order
        ["o2", "2", "p1", S1, "2018-01-06 11:00:00", "abc", "1.00"],  # line 6: bad price
        ["o1", "1", "p2", S2, "2017-07-13 22:10:13", "5.00", "1.00"],  # line 7: duplicate of line 2
        ["o2", "3", "p1", S1, "2018-02-30 10:00:00", "5.00", "-1"],  # line 8: bad date and negative freight
        ["o2", "4", "p1", S1],  # line 9: too few fields
    ]
    orders = rows_of(ORDERS) + [
        ["o4", "c3", "lost", "2018-03-01 10:00:00", "", "", "", "2018-03-20 00:00:00"],  # line 5
        ["o5", "c404", "created", "yesterday", "", "", "", ""],  # line 6
    ]
    payments = rows_of("olist_order_payments_dataset") + [["o2", "2", "pix", "1", "3.00"]]
    reviews = rows_of("olist_order_reviews_dataset") + [["r3", "o2", "7", "", "", "2018-01-20 00:00:00", ""]]

    report = olist_import(
        directory=write_olist(
            tmp_path,
            **{ITEMS: items, ORDERS: orders, "olist_order_payments_dataset": payments},
            olist_order_reviews_dataset=reviews,
        )
    )

    i, o = "olist_order_items_dataset.csv", "olist_orders_dataset.csv"
    assert report.rejected == [
        RejectedRow(i, 9, "-", "has 4 fields, the header has 7"),
        RejectedRow(o, 5, "order_status", "unknown value 'lost' (expected one of: created, approved, invoiced, processing, shipped, delivered, canceled, unavailable)"),
        RejectedRow(o, 6, "order_purchase_timestamp", "not a date/time: 'yesterday' (expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
        RejectedRow(i, 5, "order_id", "unknown order_id o9"),
        RejectedRow(i, 6, "price", "not a number: 'abc'"),
        RejectedRow(i, 7, "order_item_id", "duplicate item o1/1 (first seen at line 2); only the first is imported"),
        RejectedRow(i, 8, "shipping_limit_date", "not a date/time: '2018-02-30 10:00:00' (expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
        RejectedRow(i, 8, "freight_value", "-1 is below the minimum 0"),
        RejectedRow("olist_order_payments_dataset.csv", 5, "payment_type", "unknown value 'pix' (expected one of: credit_card, boleto, voucher, debit_card, not_defined)"),
        RejectedRow("olist_order_reviews_dataset.csv", 6, "review_score", "7 is above the maximum 5"),  # r2 spans lines 4-5
    ]  # fmt: skip
    assert (report.files[i].read, report.files[i].rejected, report.files[i].created) == (8, 5, 3)
    assert (report.files[o].read, report.files[o].rejected, report.files[o].tables["orders.Order"].created) == (
        5,
        2,
        3,
    )
    assert table_counts()["lines"] == 3
    assert table_counts()["orders"] == 3
    assert table_counts()["payments"] == 3
    assert table_counts()["reviews"] == 3
    assert OrderLine.objects.get(order__external_id="o1", line_number=1).product.sku == "p1"
    assert report.ok


def test_a_bad_optional_value_keeps_the_row_and_everything_that_hangs_on_it_with_a_warning(tmp_path):
    orders = rows_of(ORDERS)
    orders[1][4] = "not-a-date"  # line 2, o1: order_approved_at
    orders[2][7] = "2018-13-01"  # line 3, o2: order_estimated_delivery_date
    products = rows_of("olist_products_dataset")
    products[2][1] = "x" * 129  # line 3, p2: category name too long ...
    products[2][5] = "heavy"  # ... and product_weight_g not a number: one row, two fields cleared
    customers = rows_of("olist_customers_dataset")
    customers[3][2] = "010010000"  # line 4, c3: zip prefix of 9 characters
    items = rows_of(ITEMS)
    items[1][4] = "2017-02-30 10:00:00"  # line 2, o1/1: shipping_limit_date
    reviews = rows_of("olist_order_reviews_dataset")
    reviews[1][6] = "soon"  # line 2, r1 of o1: review_answer_timestamp

    report = olist_import(
        directory=write_olist(
            tmp_path,
            **{ORDERS: orders, ITEMS: items},
            olist_products_dataset=products,
            olist_customers_dataset=customers,
            olist_order_reviews_dataset=reviews,
        )
    )

    o, i, c, p = ORDERS + ".csv", ITEMS + ".csv", "olist_customers_dataset.csv", "olist_products_dataset.csv"
    r = "olist_order_reviews_dataset.csv"
    assert report.ok and report.rejected == []
    assert report.warnings == [
        ClearedField(c, 4, "customer_zip_code_prefix", "is 9 characters long, at most 8 allowed"),
        ClearedField(o, 2, "order_approved_at", f"not a date/time: 'not-a-date' {HINT}"),
        ClearedField(o, 3, "order_estimated_delivery_date", f"not a date/time: '2018-13-01' {HINT}"),
        ClearedField(p, 3, "product_category_name", "is 129 characters long, at most 128 allowed"),
        ClearedField(p, 3, "product_weight_g", "not a whole number: 'heavy'"),
        ClearedField(i, 2, "shipping_limit_date", f"not a date/time: '2017-02-30 10:00:00' {HINT}"),
        ClearedField(r, 2, "review_answer_timestamp", f"not a date/time: 'soon' {HINT}"),
    ]
    assert {name: (f.rejected, f.cleared) for name, f in report.files.items() if f.cleared} == {
        c: (0, 1),
        o: (0, 2),
        p: (0, 1),
        i: (0, 1),
        r: (0, 1),
    }
    # nothing lost: the same rows as the clean folder's import
    assert table_counts() == ALL_ROWS
    o1 = Order.objects.get(external_id="o1")
    assert (o1.approved_at, o1.purchased_at, o1.delivered_at) == (
        None,
        datetime(2017, 7, 9, 21, 57, 5, tzinfo=UTC),
        datetime(2017, 7, 26, 10, 57, 55, tzinfo=UTC),
    )
    assert (o1.lines.count(), o1.payments.count(), o1.reviews.count()) == (2, 2, 1)
    o2 = Order.objects.get(external_id="o2")
    assert (o2.promised_delivery_date, o2.shipments.get().estimated_delivery_date, o2.lines.count()) == (None, None, 1)
    assert Customer.objects.get(external_id="u2").zip_prefix == ""
    assert Order.objects.get(external_id="o3").shipping_zip_prefix == ""
    p2 = Product.objects.get(sku="p2")
    assert (p2.category, p2.weight_g, p2.length_cm) == (None, None, 30)
    assert OrderLine.objects.get(order=o1, line_number=1).shipping_limit_at is None
    assert Review.objects.get(order=o1).answered_at is None

    text = report.as_text()
    assert "0 rows rejected (0 reasons), 6 rows kept with 7 bad optional value(s) not imported" in text
    assert ["olist_orders_dataset.csv", "3", "0", "2", "orders.Order", "3", "0", "0"] in [
        line.split() for line in text.splitlines()
    ]
    assert text.endswith(
        "rows kept without a bad optional value (file:line [field] reason):\n"
        f"  olist_customers_dataset.csv:4 [customer_zip_code_prefix] is 9 characters long, at most 8 allowed; {KEPT}\n"
        f"  olist_orders_dataset.csv:2 [order_approved_at] not a date/time: 'not-a-date' {HINT}; {KEPT}\n"
        f"  olist_orders_dataset.csv:3 [order_estimated_delivery_date] not a date/time: '2018-13-01' {HINT}; {KEPT}\n"
        f"  olist_products_dataset.csv:3 [product_category_name] is 129 characters long, at most 128 allowed; {KEPT}\n"
        f"  olist_products_dataset.csv:3 [product_weight_g] not a whole number: 'heavy'; {KEPT}\n"
        f"  olist_order_items_dataset.csv:2 [shipping_limit_date] not a date/time: '2017-02-30 10:00:00' {HINT}; {KEPT}\n"
        f"  olist_order_reviews_dataset.csv:2 [review_answer_timestamp] not a date/time: 'soon' {HINT}; {KEPT}"
    )  # fmt: skip
    result = report.as_dict()
    assert result["warnings"][1] == {
        "file": o,
        "line": 2,
        "field": "order_approved_at",
        "reason": f"not a date/time: 'not-a-date' {HINT}",
        "outcome": KEPT,
    }
    assert (result["files"][o]["rejected"], result["files"][o]["cleared"], result["rejected"]) == (0, 2, [])


def test_a_reimport_with_a_bad_optional_value_keeps_the_stored_value_and_a_new_row_is_created_without_it(tmp_path):
    olist_import(directory=write_olist(tmp_path / "a"))
    stamps = dict(Order.objects.values_list("external_id", "updated_at"))
    orders = rows_of(ORDERS) + [
        ["o4", "c3", "delivered", "2018-03-01 10:00:00", "", "", "garbage", "2018-03-20 00:00:00"],  # line 5, new
    ]
    orders[1][6] = "garbage"  # line 2, o1 (stored): order_delivered_customer_date
    products = rows_of("olist_products_dataset") + [
        ["p4", "beleza_saude", "40", "300", "1", "heavy", "20", "10", "15"],  # line 5, new
    ]
    products[1][5], products[1][6] = "-5", "25"  # line 2, p1 (stored): bad weight, and a new length
    products[2][5] = "heavy"  # line 3, p2 (stored): product_weight_g

    report = olist_import(directory=write_olist(tmp_path / "b", **{ORDERS: orders}, olist_products_dataset=products))

    o, p = ORDERS + ".csv", "olist_products_dataset.csv"
    assert report.ok and report.rejected == []
    assert report.warnings == [
        ClearedField(o, 2, "order_delivered_customer_date", f"not a date/time: 'garbage' {HINT}"),
        ClearedField(o, 5, "order_delivered_customer_date", f"not a date/time: 'garbage' {HINT}"),
        ClearedField(p, 2, "product_weight_g", "-5 is below the minimum 0"),
        ClearedField(p, 3, "product_weight_g", "not a whole number: 'heavy'"),
        ClearedField(p, 5, "product_weight_g", "not a whole number: 'heavy'"),
    ]
    tables = {
        (name, label): (t.created, t.updated, t.unchanged)
        for name, f in report.files.items()
        for label, t in f.tables.items()
        if name in (o, p)
    }
    assert tables == {
        (o, "orders.Order"): (1, 0, 3),  # o1 unchanged: its stored delivery date is kept
        (o, "logistics.Shipment"): (1, 0, 2),  # and so is its shipment's
        (p, "catalog.Product"): (1, 1, 2),  # p1 updated (length only), p2 unchanged
        (p, "catalog.Category"): (0, 0, 1),
    }
    assert report.summary == (
        "3 created, 1 updated, 0 rows rejected (0 reasons), 5 rows kept with 5 bad optional value(s) not imported"
    )
    o1 = Order.objects.get(external_id="o1")
    delivered = datetime(2017, 7, 26, 10, 57, 55, tzinfo=UTC)
    assert (o1.delivered_at, o1.shipments.get().delivered_at, o1.updated_at) == (delivered, delivered, stamps["o1"])
    o4 = Order.objects.get(external_id="o4")
    assert (o4.delivered_at, o4.shipments.get().delivered_at, o4.promised_delivery_date) == (
        None,
        None,
        date(2018, 3, 20),
    )
    assert {sku: (w, length) for sku, w, length in Product.objects.values_list("sku", "weight_g", "length_cm")} == {
        "p1": (500, 25),
        "p2": (1200, 30),
        "p3": (2500, None),
        "p4": (None, 20),
    }
    assert str(report.warnings[0]) == (
        f"{o}:2 [order_delivered_customer_date] not a date/time: 'garbage' {HINT}; value not imported: a new row is"
        " left without it, an existing row keeps its stored value"
    )


def test_a_reimport_with_a_bad_optional_value_in_every_file_changes_nothing_stored(tmp_path):
    olist_import(directory=write_olist(tmp_path / "a"))
    long = "x" * 129
    bad = {stem: rows_of(stem) for stem in OLIST_STEMS}
    bad["product_category_name_translation"][1][1] = long  # beleza_saude: name_en
    bad["olist_geolocation_dataset"][4][3] = long  # 20231's only row: city (no good name left for the area)
    bad["olist_sellers_dataset"][1][2] = long  # s1: city (Seller and its Location)
    bad["olist_customers_dataset"][3][2] = "010010000"  # c3 (u2, o3): zip prefix
    bad["olist_order_items_dataset"][1][4] = "soon"  # o1/1: shipping_limit_date
    bad["olist_order_reviews_dataset"][1][6] = "soon"  # r1 of o1: review_answer_timestamp
    bad["olist_order_reviews_dataset"][1][3] = long * 2  # ... and its title
    bad[ORDERS][2][5] = "soon"  # o2: order_delivered_carrier_date (its shipment's shipped_at)
    before = snapshot()

    report = olist_import(directory=write_olist(tmp_path / "b", **bad))

    assert (report.created, report.updated, report.rejected, report.cleared_rows) == (0, 0, [], 7)
    assert [(w.file.removesuffix(".csv"), w.line, w.field) for w in report.warnings] == [
        ("product_category_name_translation", 2, "product_category_name_english"),
        ("olist_geolocation_dataset", 5, "geolocation_city"),
        ("olist_sellers_dataset", 2, "seller_city"),
        ("olist_customers_dataset", 4, "customer_zip_code_prefix"),
        (ORDERS, 3, "order_delivered_carrier_date"),
        (ITEMS, 2, "shipping_limit_date"),
        ("olist_order_reviews_dataset", 2, "review_comment_title"),
        ("olist_order_reviews_dataset", 2, "review_answer_timestamp"),
    ]
    assert snapshot() == before


def test_a_bad_required_value_still_rejects_and_rows_that_refer_to_a_rejected_row_say_where_it_was(tmp_path):
    long_product, long_seller = "p" + "9" * 64, "s" + "9" * 64
    orders = rows_of(ORDERS) + [
        ["o4", "c404", "created", "2018-03-01 10:00:00", "not-a-date", "", "", ""],  # line 5: unknown customer
    ]
    orders[1][3] = "not-a-date"  # line 2, o1: order_purchase_timestamp is required
    customers = rows_of("olist_customers_dataset")
    customers[3][1] = ""  # line 4, c3: no customer_unique_id, so o3 (line 4) goes too
    products = rows_of("olist_products_dataset") + [[long_product, "", "", "", "", "1", "1", "1", "1"]]  # line 5
    sellers = rows_of("olist_sellers_dataset") + [[long_seller, "01001", "sao paulo", "SP"]]  # line 4
    items = rows_of(ITEMS) + [
        ["o2", "2", long_product, S1, "2018-01-06 11:00:00", "1.00", "0.00"],  # line 5
        ["o2", "3", "p1", long_seller, "2018-01-06 11:00:00", "1.00", "0.00"],  # line 6
    ]

    report = olist_import(
        directory=write_olist(
            tmp_path,
            **{ORDERS: orders, ITEMS: items},
            olist_customers_dataset=customers,
            olist_products_dataset=products,
            olist_sellers_dataset=sellers,
        )
    )

    o, i = ORDERS + ".csv", ITEMS + ".csv"
    pay, prod, r = "olist_order_payments_dataset.csv", "olist_products_dataset.csv", "olist_order_reviews_dataset.csv"
    assert report.rejected == [
        RejectedRow("olist_sellers_dataset.csv", 4, "seller_id", "is 65 characters long, at most 64 allowed"),
        RejectedRow(o, 2, "order_purchase_timestamp", f"not a date/time: 'not-a-date' {HINT}"),
        RejectedRow("olist_customers_dataset.csv", 4, "customer_unique_id", "is required"),
        RejectedRow(o, 4, "customer_id", "customer_id c3 was rejected (olist_customers_dataset.csv line 4)"),
        RejectedRow(o, 5, "order_approved_at", f"not a date/time: 'not-a-date' {HINT}"),
        RejectedRow(o, 5, "customer_id", "unknown customer_id c404"),
        RejectedRow(prod, 5, "product_id", "is 65 characters long, at most 64 allowed"),
        RejectedRow(i, 2, "order_id", "order_id o1 was rejected (olist_orders_dataset.csv line 2)"),
        RejectedRow(i, 3, "order_id", "order_id o1 was rejected (olist_orders_dataset.csv line 2)"),
        RejectedRow(i, 5, "product_id", f"product_id {long_product} was rejected (olist_products_dataset.csv line 5)"),
        RejectedRow(i, 6, "seller_id", f"seller_id {long_seller} was rejected (olist_sellers_dataset.csv line 4)"),
        RejectedRow(pay, 2, "order_id", "order_id o1 was rejected (olist_orders_dataset.csv line 2)"),
        RejectedRow(pay, 3, "order_id", "order_id o1 was rejected (olist_orders_dataset.csv line 2)"),
        RejectedRow(r, 2, "order_id", "order_id o1 was rejected (olist_orders_dataset.csv line 2)"),
        RejectedRow(r, 4, "order_id", "order_id o3 was rejected (olist_orders_dataset.csv line 4)"),
    ]  # fmt: skip
    assert report.warnings == []  # o4's bad approval date is a reason of its rejection, not a kept row's warning
    assert (report.files[o].read, report.files[o].rejected, report.files[o].cleared) == (4, 3, 0)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["o2"]
    assert list(OrderLine.objects.values_list("order__external_id", "line_number")) == [("o2", 1)]
    assert list(Payment.objects.values_list("order__external_id", flat=True)) == ["o2"]
    assert list(Review.objects.values_list("order__external_id", flat=True)) == ["o2"]


def test_an_order_of_an_unknown_customer_is_rejected(tmp_path):
    orders = rows_of(ORDERS) + [["o6", "c404", "created", "2018-03-01 10:00:00", "", "", "", ""]]

    report = olist_import(directory=write_olist(tmp_path, **{ORDERS: orders}))

    assert report.rejected == [RejectedRow("olist_orders_dataset.csv", 5, "customer_id", "unknown customer_id c404")]
    assert not Order.objects.filter(external_id="o6").exists()


def test_missing_columns_stop_that_file_only_and_the_command_fails(tmp_path):
    orders = [row[:2] + row[3:] for row in rows_of(ORDERS)]  # no order_status
    folder = write_olist(tmp_path, **{ORDERS: orders})

    report = olist_import(directory=folder)

    assert report.errors == [
        "olist_orders_dataset.csv: missing column(s): order_status (found: order_id, customer_id, "
        "order_purchase_timestamp, order_approved_at, order_delivered_carrier_date, order_delivered_customer_date, "
        "order_estimated_delivery_date); nothing of this file was imported"
    ]
    counts = table_counts()
    assert (counts["orders"], counts["shipments"], counts["customers"], counts["products"]) == (0, 0, 2, 3)
    # items of orders that were not imported are rejected, one reason each
    assert [(r.file, r.line, r.field) for r in report.rejected if r.file.startswith("olist_order_items")] == [
        ("olist_order_items_dataset.csv", 2, "order_id"),
        ("olist_order_items_dataset.csv", 3, "order_id"),
        ("olist_order_items_dataset.csv", 4, "order_id"),
    ]
    with pytest.raises(CommandError, match="1 file\\(s\\) could not be imported: olist_orders_dataset.csv: missing"):
        call_command("import_olist", str(folder), stdout=__import__("io").StringIO())


def test_latin1_file_is_read_with_a_note_in_auto_mode_and_refused_in_utf8_mode(tmp_path):
    folder = write_olist(tmp_path)
    sellers = rows_of("olist_sellers_dataset")
    sellers[1][2] = "são paulo"
    (folder / "olist_sellers_dataset.csv").write_bytes(
        "\n".join(",".join(r) for r in sellers).encode("latin-1") + b"\n"
    )

    strict = olist_import(directory=folder, encoding="utf-8")

    assert strict.errors == [
        "olist_sellers_dataset.csv: not valid UTF-8: byte 0xe3 at line 2 (byte offset 98); "
        "re-save the file as UTF-8 or pass --encoding latin-1"
    ]
    assert Seller.objects.count() == 0

    report = olist_import(directory=folder)

    assert report.ok
    assert report.files["olist_sellers_dataset.csv"].notes == [
        "not valid UTF-8 (byte 0xe3 at line 2 (byte offset 98)); read as latin-1 instead, check accented text"
    ]
    assert Seller.objects.get(external_id=S1).city == "são paulo"


def test_missing_file_and_directory_are_reported(tmp_path):
    folder = write_olist(tmp_path)
    (folder / "olist_order_payments_dataset.csv").unlink()

    report = olist_import(directory=folder)

    assert report.errors == [
        f"olist_order_payments_dataset.csv: file not found: {folder / 'olist_order_payments_dataset.csv'}"
    ]
    assert table_counts()["orders"] == 3
    assert olist_import(directory=tmp_path / "nowhere").errors == [f"{tmp_path / 'nowhere'}: not a directory"]


def test_command_prints_the_report(tmp_path):
    import io

    out = io.StringIO()
    call_command("import_olist", str(write_olist(tmp_path)), stdout=out)

    text = out.getvalue()
    assert "olist_orders_dataset.csv" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["olist_orders_dataset.csv", "3", "0", "0", "orders.Order", "3", "0", "0"] in lines
    assert ["logistics.Shipment", "2", "0", "0"] in lines
    assert (
        "total: 28 created, 0 updated, 0 rows rejected (0 reasons), 0 rows kept with 0 bad optional value(s) not imported"
        in text
    )

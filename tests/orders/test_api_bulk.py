"""POST /api/v1/orders/bulk/: orders with nested lines and payments, customer by external id."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ecomops.models import IdempotencyRecord
from orders.models import Order, OrderLine, Payment
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory, SellerFactory

URL = "/api/v1/orders/bulk/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    seller = SellerFactory(external_id="S1")
    return {
        "customer": CustomerFactory(external_id="C1"),
        "a": ProductFactory(sku="A", seller=seller),
        "b": ProductFactory(sku="B", seller=seller),
        "seller": seller,
    }


def order_row(external_id="O1", **overrides):
    row = {
        "external_id": external_id,
        "customer": "C1",
        "status": "approved",
        "purchased_at": "2018-03-01T12:00:00Z",
        "lines": [
            {"sku": "A", "unit_price": "10.00", "freight": "2.50"},
            {"sku": "B", "quantity": 2, "unit_price": "5"},
        ],
        "payments": [{"type": "credit_card", "installments": 3, "value": "22.50"}],
    }
    row.update(overrides)
    return row


def test_new_orders_are_created_with_lines_and_payments(api_client, world):
    response = api_client.post(URL, [order_row("O1"), order_row("O2", lines=[])], format="json")

    assert response.status_code == 200
    o1, o2 = Order.objects.get(external_id="O1"), Order.objects.get(external_id="O2")
    assert response.json() == [
        {"index": 0, "status": "created", "id": o1.pk, "errors": {}},
        {"index": 1, "status": "created", "id": o2.pk, "errors": {}},
    ]
    assert list(
        o1.lines.values_list("line_number", "product__sku", "seller__external_id", "quantity", "unit_price")
    ) == [
        (1, "A", "S1", 1, Decimal("10.00")),
        (2, "B", "S1", 2, Decimal("5.00")),
    ]
    assert list(o1.payments.values_list("sequential", "type", "installments", "value")) == [
        (1, "credit_card", 3, Decimal("22.50"))
    ]
    assert o2.lines.count() == 0
    assert o1.customer == world["customer"]


def test_resending_is_unchanged_and_changes_are_updates(api_client, world):
    api_client.post(URL, [order_row("O1")], format="json")
    changed = order_row("O1", status="delivered", delivered_at="2018-03-09T10:00:00Z")
    changed["lines"][1]["quantity"] = 3
    changed["lines"].append({"sku": "A", "unit_price": "1.00"})
    changed["payments"] = [{"type": "boleto", "value": "25.50"}]

    response = api_client.post(URL, [order_row("O1"), changed], format="json")

    assert [row["status"] for row in response.json()] == ["unchanged", "updated"]
    order = Order.objects.get()
    assert order.status == "delivered"
    assert list(order.lines.values_list("line_number", "quantity")) == [(1, 1), (2, 3), (3, 1)]
    assert list(order.payments.values_list("sequential", "type", "value")) == [(1, "boleto", Decimal("25.50"))]


def test_bad_rows_are_rejected_naming_the_field_and_nothing_of_them_is_written(api_client, world):
    rows = [
        order_row("GOOD"),
        order_row("BAD-CUSTOMER", customer="nobody"),
        order_row("BAD-LINE", lines=[{"sku": "A", "unit_price": "1"}, {"sku": "ZZZ", "unit_price": "-1"}]),
        order_row("BAD-DATE", purchased_at="yesterday"),
        order_row(
            "DUP-LINES", lines=[{"sku": "A", "unit_price": "1", "line_number": 2}, {"sku": "B", "unit_price": "1"}]
        ),
    ]

    response = api_client.post(URL, rows, format="json")

    assert response.status_code == 207
    body = response.json()
    assert [row["status"] for row in body] == ["created", "rejected", "rejected", "rejected", "rejected"]
    assert body[1]["errors"] == {"customer": ["unknown customer 'nobody'; create it first (POST /customers/bulk/)"]}
    assert body[2]["errors"] == {
        "lines[1].sku": ["unknown SKU 'ZZZ'"],
        "lines[1].unit_price": ["Ensure this value is greater than or equal to 0."],
    }
    assert list(body[3]["errors"]) == ["purchased_at"]
    assert body[4]["errors"] == {"lines": ["duplicate line_number 2"]}
    assert list(Order.objects.values_list("external_id", flat=True)) == ["GOOD"]
    assert OrderLine.objects.count() == 2


def test_removing_an_existing_line_is_refused_and_the_order_stays_as_it_was(api_client, world):
    order = OrderFactory(external_id="O1", customer=world["customer"])
    OrderLineFactory(order=order, line_number=1, product=world["a"])
    OrderLineFactory(order=order, line_number=2, product=world["b"])

    response = api_client.post(URL, [order_row("O1", status="canceled", lines=[{"sku": "A", "unit_price": "1"}])])

    assert response.status_code == 207
    assert response.json()[0]["errors"] == {
        "lines": ["order O1 has line(s) 2 that this payload omits; lines cannot be removed (cancel the order instead)"]
    }
    order.refresh_from_db()
    assert order.status == "approved"
    assert list(order.lines.values_list("line_number", "unit_price")) == [(1, Decimal("10.00")), (2, Decimal("10.00"))]


def test_repeated_external_id_in_one_batch_creates_then_updates(api_client, world):
    response = api_client.post(URL, [order_row("O1"), order_row("O1", status="shipped")], format="json")
    assert [row["status"] for row in response.json()] == ["created", "updated"]
    assert Order.objects.get().status == "shipped"


def test_bulk_query_count_does_not_grow_with_new_orders(api_client, world, django_assert_max_num_queries):
    # 3 lookups + 3 inserts (+ session/permission queries and savepoints): constant for any batch size.
    with django_assert_max_num_queries(12):
        response = api_client.post(URL, [order_row(f"O{i}") for i in range(50)], format="json")
    assert response.status_code == 200
    assert (Order.objects.count(), OrderLine.objects.count(), Payment.objects.count()) == (50, 100, 50)


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_concurrently_gives_one_order(postgres_only, operator_user):
    seller = SellerFactory(external_id="S1")
    CustomerFactory(external_id="C1")
    ProductFactory(sku="A", seller=seller)
    ProductFactory(sku="B", seller=seller)
    barrier = threading.Barrier(8)
    responses = []

    def post():
        client = APIClient()
        client.force_authenticate(operator_user)
        try:
            barrier.wait()
            responses.append(client.post(URL, [order_row("O1")], format="json", HTTP_IDEMPOTENCY_KEY="same"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    order = Order.objects.get()
    assert len(responses) == 8
    ok = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} <= {200, 409}
    assert len(ok) >= 1
    assert all(r.json() == [{"index": 0, "status": "created", "id": order.pk, "errors": {}}] for r in ok)
    assert sum(r.get("Idempotent-Replayed") != "true" for r in ok) == 1
    assert IdempotencyRecord.objects.count() == 1
    assert OrderLine.objects.count() == 2


FAST_ROWS = [
    order_row("F1"),
    order_row("F2", purchased_at="2018-03-01 09:30:00", approved_at=None, promised_delivery_date="2018-03-20"),
    order_row(
        "F3",
        customer_ref="abc",
        shipping_city="são paulo",
        lines=[
            {
                "sku": "A",
                "unit_price": 10,
                "seller": None,
                "line_number": 4,
                "shipping_limit_at": "2018-03-05T10:00:00Z",
            },
            {"sku": "B", "unit_price": "0.5", "seller": "S1", "quantity": 7, "freight": "1"},
        ],
        payments=[{"type": "voucher", "value": "3", "sequential": 2, "installments": 0}],
    ),
]


@pytest.mark.parametrize("row", FAST_ROWS, ids=["plain", "naive-datetime", "mixed"])
def test_fast_validation_gives_exactly_what_the_serializer_gives(world, row):
    from catalog.models import Customer, Product, Seller
    from orders.api.serializers import OrderBulkRowSerializer, fast_order_row

    prepared = {
        "customers": {c.external_id: c for c in Customer.objects.all()},
        "products": {p.sku: p for p in Product.objects.all()},
        "sellers": {s.external_id: s for s in Seller.objects.all()},
    }
    serializer = OrderBulkRowSerializer(context={"bulk": prepared})

    fast = fast_order_row(row, serializer)

    assert fast is not None
    assert fast == serializer.run_validation(row)


@pytest.mark.parametrize(
    "change, outcome",
    [
        ({"external_id": " O1"}, "created"),
        ({"purchased_at": 20180301}, "rejected"),
        ({"lines": [{"sku": "A", "unit_price": 1.5}]}, "created"),
        ({"lines": [{"sku": "A", "unit_price": "1.555"}]}, "rejected"),
        ({"payments": [{"type": "pix", "value": "1"}]}, "rejected"),
        ({"status": None}, "rejected"),
    ],
)
def test_rows_the_fast_path_is_unsure_of_go_to_the_serializer(api_client, world, change, outcome):
    from catalog.models import Customer, Product, Seller
    from orders.api.serializers import OrderBulkRowSerializer, fast_order_row

    prepared = {
        "customers": {c.external_id: c for c in Customer.objects.all()},
        "products": {p.sku: p for p in Product.objects.all()},
        "sellers": {s.external_id: s for s in Seller.objects.all()},
    }
    row = {**order_row("O1"), **change}
    assert fast_order_row(row, OrderBulkRowSerializer(context={"bulk": prepared})) is None
    response = api_client.post(URL, [row], format="json")
    assert [result["status"] for result in response.json()] == [outcome]
    assert Order.objects.filter(external_id="O1").count() == (1 if outcome == "created" else 0)

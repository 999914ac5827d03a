"""Inventory REST API: the ledger through /stock-movements/, read-only levels, bulk movements."""

import itertools
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import (
    Allocation,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesObservation,
    ServiceLevelTarget,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierProduct,
)
from inventory.services import stock_receive, stock_reserve
from tests.factories import CategoryFactory, LocationFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return ProductFactory(sku="P1"), LocationFactory(code="WH1")


def level_of(product, location):
    level = StockLevel.objects.get(product=product, location=location)
    return level.on_hand, level.reserved


def test_movement_posted_goes_through_the_ledger(api_client, pair, operator_user):
    product, location = pair
    payload = {
        "product": product.pk,
        "location": location.pk,
        "on_hand_delta": 5,
        "reason": "receipt",
        "idempotency_key": "rcv-1",
        "reference": "PO-1",
    }
    response = api_client.post("/api/v1/stock-movements/", payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["sku"], body["location_code"], body["on_hand_delta"], body["created_by"]) == (
        "P1",
        "WH1",
        5,
        "operator",
    )
    assert level_of(product, location) == (5, 0)

    again = api_client.post("/api/v1/stock-movements/", payload, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert level_of(product, location) == (5, 0)


def test_movement_the_stock_cannot_cover_is_409_and_changes_nothing(api_client, pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=2, key="r")
    payload = {"product": product.pk, "location": location.pk, "reserved_delta": 3, "reason": "reservation"}
    response = api_client.post("/api/v1/stock-movements/", {**payload, "idempotency_key": "x"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "insufficient stock of P1 at WH1: requested 3, available 2"}
    assert level_of(product, location) == (2, 0)
    assert StockMovement.objects.count() == 1


def test_reused_key_with_other_values_is_409(api_client, pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=2, key="r")
    payload = {"product": product.pk, "location": location.pk, "on_hand_delta": 9, "reason": "receipt"}
    response = api_client.post("/api/v1/stock-movements/", {**payload, "idempotency_key": "r"}, format="json")
    assert response.status_code == 409
    assert "'r' was already used for a different movement" in response.json()["detail"]
    assert level_of(product, location) == (2, 0)


def test_ledger_and_levels_cannot_be_edited(api_client, pair):
    product, location = pair
    movement = stock_receive(product=product, location=location, quantity=2, key="r")
    level = StockLevel.objects.get()
    assert api_client.patch(f"/api/v1/stock-movements/{movement.pk}/", {"on_hand_delta": 100}).status_code == 405
    assert api_client.delete(f"/api/v1/stock-movements/{movement.pk}/").status_code == 405
    assert api_client.patch(f"/api/v1/stock-levels/{level.pk}/", {"on_hand": 100}).status_code == 405
    assert api_client.post("/api/v1/stock-levels/", {"product": product.pk}).status_code == 405
    assert level_of(product, location) == (2, 0)


def test_bulk_movements_apply_valid_rows_and_report_the_others(api_client, pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=1, key="old")
    rows = [
        {"sku": "P1", "location": "WH1", "reason": "receipt", "on_hand_delta": 10, "key": "b-1"},
        {"sku": "P1", "location": "WH1", "reason": "reservation", "reserved_delta": 4, "key": "b-2"},
        {"sku": "P1", "location": "WH1", "reason": "reservation", "reserved_delta": 50, "key": "b-3"},
        {"sku": "NOPE", "location": "WH9", "reason": "receipt", "on_hand_delta": 1, "key": "b-4"},
        {"sku": "P1", "location": "WH1", "reason": "count", "counted": 7, "key": "b-5"},
        {"sku": "P1", "location": "WH1", "reason": "receipt", "on_hand_delta": 1, "key": "old"},
        {"sku": "P1", "location": "WH1", "reason": "receipt", "key": "b-6"},
    ]

    response = api_client.post("/api/v1/stock-movements/bulk/", rows, format="json")

    assert response.status_code == 207
    body = response.json()
    assert [row["status"] for row in body] == [
        "created",
        "created",
        "rejected",
        "rejected",
        "created",
        "unchanged",
        "rejected",
    ]
    assert body[2]["errors"] == {"non_field_errors": ["insufficient stock of P1 at WH1: requested 50, available 7"]}
    assert body[3]["errors"] == {"sku": ["unknown SKU 'NOPE'"], "location": ["unknown location 'WH9'"]}
    assert body[6]["errors"] == {"non_field_errors": ["a movement must change on_hand_delta or reserved_delta"]}
    assert level_of(product, location) == (7, 4)
    assert StockMovement.objects.get(idempotency_key="b-5").on_hand_delta == -4


def test_stock_level_list_has_available(api_client, pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=5, key="r")
    stock_reserve(product=product, location=location, quantity=2, key="s")
    response = api_client.get("/api/v1/stock-levels/", {"sku": "P1"})
    assert response.status_code == 200
    assert [
        (r["sku"], r["location_code"], r["on_hand"], r["reserved"], r["available"]) for r in response.json()["results"]
    ] == [("P1", "WH1", 5, 2, 3)]


def test_purchase_order_records_its_author(api_client, operator_user):
    from inventory.models import PurchaseOrder, Supplier
    from tests.factories import LocationFactory as Loc

    supplier = Supplier.objects.create(code="SUP", name="Supplier")
    location = Loc()
    response = api_client.post(
        "/api/v1/purchase-orders/",
        {
            "number": "PO-1",
            "supplier": supplier.pk,
            "location": location.pk,
            "created_by": 999,
            "approved_at": "2020-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    po = PurchaseOrder.objects.get()
    assert (po.created_by, po.approved_at, po.approved_by) == (operator_user, None, None)


_n = itertools.count(1)


def _supplier():
    return Supplier.objects.create(code=f"SUP{next(_n)}", name="Supplier")


def _purchase_order():
    po = PurchaseOrder.objects.create(number=f"PO{next(_n)}", supplier=_supplier(), location=LocationFactory())
    PurchaseOrderLine.objects.create(purchase_order=po, product=ProductFactory(), quantity=3)
    PurchaseOrderLine.objects.create(purchase_order=po, product=ProductFactory(), quantity=4)
    return po


LISTS = [
    ("/api/v1/locations/", LocationFactory, 2),
    (
        "/api/v1/stock-levels/",
        lambda: stock_receive(product=ProductFactory(), location=LocationFactory(), quantity=1, key=f"k{next(_n)}"),
        2,
    ),
    (
        "/api/v1/stock-movements/",
        lambda: stock_receive(product=ProductFactory(), location=LocationFactory(), quantity=1, key=f"k{next(_n)}"),
        2,
    ),
    ("/api/v1/suppliers/", _supplier, 2),
    (
        "/api/v1/supplier-products/",
        lambda: SupplierProduct.objects.create(supplier=_supplier(), product=ProductFactory()),
        2,
    ),
    ("/api/v1/purchase-orders/", _purchase_order, 3),  # count, orders, lines + products
    ("/api/v1/purchase-order-lines/", lambda: _purchase_order().lines.first(), 2),
    (
        "/api/v1/sales-observations/",
        lambda: SalesObservation.objects.create(
            product=ProductFactory(), location=LocationFactory(), period_start=date(2020, 1, 2), units=3
        ),
        2,
    ),
    (
        "/api/v1/allocations/",
        lambda: Allocation.objects.create(order_line=OrderLineFactory(), location=LocationFactory(), quantity=1),
        2,
    ),
    (
        "/api/v1/service-level-targets/",
        lambda: ServiceLevelTarget.objects.create(category=CategoryFactory(), target="0.9"),
        2,
    ),
]


def list_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("url, make, expected", LISTS, ids=[url for url, _, _ in LISTS])
def test_list_queries_do_not_grow_with_rows(api_client, url, make, expected):
    make()
    api_client.get(url)
    one, count_one = list_queries(api_client, url)
    for _ in range(5):
        make()
    many, count_many = list_queries(api_client, url)
    assert count_many > count_one
    assert (one, many) == (expected, expected)


@pytest.mark.django_db(transaction=True)
def test_thirty_clients_reserving_the_last_unit_one_201_the_rest_409_no_5xx(postgres_only, operator_user):
    import threading

    from rest_framework.test import APIClient

    product, location = ProductFactory(sku="LAST"), LocationFactory(code="WH-LAST")
    stock_receive(product=product, location=location, quantity=1, key="r")
    barrier = threading.Barrier(30)
    codes = []

    def buy(i):
        client = APIClient()
        client.force_authenticate(operator_user)
        payload = {
            "product": product.pk,
            "location": location.pk,
            "reserved_delta": 1,
            "reason": "reservation",
            "idempotency_key": f"buyer-{i}",
        }
        try:
            barrier.wait()
            codes.append(client.post("/api/v1/stock-movements/", payload, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(codes) == [201] + [409] * 29
    assert level_of(product, location) == (1, 1)
    assert StockMovement.objects.filter(reason="reservation").count() == 1

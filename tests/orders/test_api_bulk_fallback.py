"""POST /api/v1/orders/bulk/: the batched paths (new orders inserted together, resent ones compared as values).

The batch insert (COPY on PostgreSQL, ``bulk_create`` elsewhere) runs for orders the batch's look-up did not
find. If another request inserted one of them in between, the insert hits the unique external id: nothing of
the batch insert stays, and every row of the chunk is then upserted one by one, with its own result.
A resent order is compared with a plain-value snapshot of the stored one: any single difference is an update.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.api.views import OrderViewSet
from orders.models import Order, OrderLine, Payment
from tests.factories import CustomerFactory, OrderFactory, ProductFactory, SellerFactory

from .test_api_bulk import URL, order_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    seller = SellerFactory(external_id="S1")
    return {
        "customer": CustomerFactory(external_id="C1"),
        "a": ProductFactory(sku="A", seller=seller),
        "b": ProductFactory(sku="B", seller=seller),
    }


def test_an_order_inserted_meanwhile_sends_the_chunk_one_by_one(api_client, world, monkeypatch):
    prepare = OrderViewSet.bulk_prepare

    def prepare_then_race(self, rows):
        prepared = prepare(self, rows)  # O2 does not exist yet when the batch looks it up...
        OrderFactory(  # ...and another request creates it before the batch inserts
            external_id="O2", customer=world["customer"], purchased_at=datetime(2018, 1, 1, tzinfo=UTC)
        )
        return prepared

    monkeypatch.setattr(OrderViewSet, "bulk_prepare", prepare_then_race)
    response = api_client.post(URL, [order_row("O1"), order_row("O2"), order_row("O3")], format="json")

    assert response.status_code == 200, response.json()
    ids = dict(Order.objects.values_list("external_id", "pk"))
    assert response.json() == [
        {"index": 0, "status": "created", "id": ids["O1"], "errors": {}},
        {"index": 1, "status": "updated", "id": ids["O2"], "errors": {}},
        {"index": 2, "status": "created", "id": ids["O3"], "errors": {}},
    ]
    # Every order once, each with exactly the payload's two lines and one payment (nothing doubled).
    assert Order.objects.count() == 3
    for external_id in ("O1", "O2", "O3"):
        assert list(
            OrderLine.objects.filter(order__external_id=external_id)
            .order_by("line_number")
            .values_list("line_number", "product__sku", "quantity", "unit_price")
        ) == [(1, "A", 1, Decimal("10.00")), (2, "B", 2, Decimal("5.00"))]
        assert list(Payment.objects.filter(order__external_id=external_id).values_list("sequential", "value")) == [
            (1, Decimal("22.50"))
        ]
    o2 = Order.objects.get(external_id="O2")
    assert (o2.status, o2.purchased_at) == ("approved", datetime(2018, 3, 1, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    "change",
    [
        {"customer_ref": "ref-2"},
        {"purchased_at": "2018-03-01T12:00:01Z"},
        {
            "lines": [
                {"sku": "A", "unit_price": "10.00", "freight": "2.51"},
                {"sku": "B", "quantity": 2, "unit_price": "5"},
            ]
        },
        {
            "lines": [
                {"sku": "A", "unit_price": "10.00", "freight": "2.50"},
                {"sku": "A", "quantity": 2, "unit_price": "5"},
            ]
        },
        {"payments": [{"type": "credit_card", "installments": 2, "value": "22.50"}]},
        {"payments": []},
    ],
    ids=["order-field", "timestamp", "line-freight", "line-product", "payment-installments", "payment-removed"],
)
def test_a_resent_order_with_one_difference_is_updated_and_the_same_one_unchanged(api_client, world, change):
    """A replay is compared with plain values of the stored order: any single difference must be seen."""
    assert api_client.post(URL, [order_row("O1")], format="json").status_code == 200
    same = api_client.post(URL, [order_row("O1")], format="json").json()
    assert same[0]["status"] == "unchanged"
    response = api_client.post(URL, [order_row("O1", **change)], format="json")
    assert response.json()[0]["status"] == "updated", response.json()
    again = api_client.post(URL, [order_row("O1", **change)], format="json")
    assert again.json()[0]["status"] == "unchanged"

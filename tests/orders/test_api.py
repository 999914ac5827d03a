"""Orders REST API: nested lines and payments, constant queries per list, filters, read-only fields."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from tests.factories import OrderFactory, OrderLineFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def full_order():
    order = OrderFactory()
    OrderLineFactory(order=order, line_number=1)
    OrderLineFactory(order=order, line_number=2)
    PaymentFactory(order=order)
    return order


LISTS = [
    ("/api/v1/orders/", full_order, 4),  # count, orders + customer, lines + product, payments
    ("/api/v1/order-lines/", OrderLineFactory, 2),
    ("/api/v1/payments/", PaymentFactory, 2),
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


def test_order_shows_its_lines_and_payments(api_client):
    order = full_order()
    body = api_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert [line["line_number"] for line in body["lines"]] == [1, 2]
    assert [(p["sequential"], p["type"], p["value"]) for p in body["payments"]] == [(1, "credit_card", "12.00")]
    assert body["customer_external_id"] == order.customer.external_id


def test_status_filter_accepts_several_values(api_client):
    OrderFactory(external_id="a", status="delivered")
    OrderFactory(external_id="b", status="canceled")
    OrderFactory(external_id="c", status="shipped")
    response = api_client.get("/api/v1/orders/", {"status": ["delivered", "shipped"], "ordering": "external_id"})
    assert [row["external_id"] for row in response.json()["results"]] == ["a", "c"]


def test_nested_lines_and_timestamps_cannot_be_written_through_the_order(api_client):
    order = full_order()
    response = api_client.patch(
        f"/api/v1/orders/{order.pk}/",
        {"lines": [], "payments": [], "created_at": "2000-01-01T00:00:00Z", "status": "shipped"},
        format="json",
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.lines.count(), order.payments.count()) == ("shipped", 2, 1)
    assert order.created_at.year != 2000


def test_order_without_permission_is_forbidden(api_client, operator_user):
    from django.contrib.auth.models import Permission

    operator_user.user_permissions.remove(Permission.objects.get(codename="view_order"))
    operator_user = type(operator_user).objects.get(pk=operator_user.pk)
    api_client.force_authenticate(operator_user)
    OrderFactory()
    assert api_client.get("/api/v1/orders/").status_code == 403
    assert Order.objects.count() == 1

"""Catalog REST API: list endpoints keep a constant number of queries; personal data is masked."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CategoryFactory, CustomerFactory, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

# url, factory, queries for a page (count + rows + anything prefetched)
LISTS = [
    ("/api/v1/categories/", lambda: CategoryFactory(parent=CategoryFactory()), 2),
    ("/api/v1/sellers/", SellerFactory, 2),
    ("/api/v1/products/", ProductFactory, 2),
    ("/api/v1/customers/", CustomerFactory, 2),
]


def list_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("url, make, expected", LISTS, ids=[url for url, _, _ in LISTS])
def test_list_queries_do_not_grow_with_rows(api_client, url, make, expected):
    make()
    api_client.get(url)  # the user's permissions are cached from here on
    one, count_one = list_queries(api_client, url)
    for _ in range(5):
        make()
    many, count_many = list_queries(api_client, url)
    assert count_many > count_one
    assert (one, many) == (expected, expected)


def test_customer_personal_data_is_masked_without_the_permission(api_client, operator_user):
    from django.contrib.auth.models import Permission

    CustomerFactory(external_id="c1", name="Maria Souza", email="maria.souza@example.com")
    operator_user.user_permissions.remove(Permission.objects.get(codename="view_personal_data"))
    operator_user = type(operator_user).objects.get(pk=operator_user.pk)
    api_client.force_authenticate(operator_user)
    row = api_client.get("/api/v1/customers/").json()["results"][0]
    assert (row["name"], row["email"]) == ("M. S.", "m***@example.com")


def test_customer_personal_data_is_shown_with_the_permission(api_client):
    CustomerFactory(external_id="c1", name="Maria Souza", email="maria.souza@example.com")
    row = api_client.get("/api/v1/customers/").json()["results"][0]
    assert (row["name"], row["email"]) == ("Maria Souza", "maria.souza@example.com")


def test_read_only_fields_cannot_be_written(api_client):
    product = ProductFactory(sku="P1")
    created_at = product.created_at
    response = api_client.patch(
        f"/api/v1/products/{product.pk}/",
        {"id": 999, "created_at": "2000-01-01T00:00:00Z", "volume_cm3": 5, "category_name": "x", "name": "ok"},
        format="json",
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.pk, product.created_at, product.name) == (response.json()["id"], created_at, "ok")
    assert product.category.name != "x"


def test_filters_search_and_ordering(api_client):
    ProductFactory(sku="B-1", name="bola", list_price="20.00")
    ProductFactory(sku="A-1", name="bolsa", list_price="5.00")
    ProductFactory(sku="C-1", name="caneca", list_price="12.00")
    skus = lambda params: [r["sku"] for r in api_client.get("/api/v1/products/", params).json()["results"]]  # noqa: E731
    assert skus({}) == ["A-1", "B-1", "C-1"]
    assert skus({"search": "bol"}) == ["A-1", "B-1"]
    assert skus({"min_price": "10"}) == ["B-1", "C-1"]
    assert skus({"ordering": "-list_price"}) == ["B-1", "C-1", "A-1"]
    assert skus({"limit": 1, "offset": 1}) == ["B-1"]

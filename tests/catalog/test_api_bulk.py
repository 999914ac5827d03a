"""POST /api/v1/products/bulk/: per-row results, natural-key upsert, Idempotency-Key."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from catalog.models import Category, Product
from ecomops.models import IdempotencyRecord
from tests.factories import ProductFactory, SellerFactory

URL = "/api/v1/products/bulk/"
pytestmark = pytest.mark.django_db


def test_valid_rows_are_created_updated_or_left_unchanged(api_client):
    seller = SellerFactory(external_id="S1")
    existing = ProductFactory(sku="A", name="old", list_price=Decimal("5.00"))
    same = ProductFactory(sku="B", name="same", list_price=Decimal("7.50"))
    rows = [
        {"sku": "A", "name": "new", "list_price": "6.00"},
        {"sku": "B", "name": "same", "list_price": "7.5"},
        {"sku": "C", "name": "fresh", "category": "brinquedos", "category_en": "toys", "seller": "S1"},
    ]

    response = api_client.post(URL, rows, format="json")

    assert response.status_code == 200
    created = Product.objects.get(sku="C")
    assert response.json() == [
        {"index": 0, "status": "updated", "id": existing.pk, "errors": {}},
        {"index": 1, "status": "unchanged", "id": same.pk, "errors": {}},
        {"index": 2, "status": "created", "id": created.pk, "errors": {}},
    ]
    existing.refresh_from_db()
    assert (existing.name, existing.list_price) == ("new", Decimal("6.00"))
    assert (created.category.name, created.category.name_en, created.seller) == ("brinquedos", "toys", seller)


def test_invalid_rows_are_rejected_with_field_and_reason_and_valid_ones_applied(api_client):
    rows = [
        {"sku": "OK-1", "list_price": "3.00"},
        {"sku": "BAD-1", "list_price": "-1"},
        {"name": "no sku"},
        "not an object",
        {"sku": "BAD-2", "seller": "nobody", "status": "sold"},
    ]

    response = api_client.post(URL, rows, format="json")

    assert response.status_code == 207
    body = response.json()
    assert [row["status"] for row in body] == ["created", "rejected", "rejected", "rejected", "rejected"]
    assert body[1]["errors"] == {"list_price": ["Ensure this value is greater than or equal to 0."]}
    assert body[2]["errors"] == {"sku": ["This field is required."]}
    assert body[3]["errors"] == {"non_field_errors": ["each row must be a JSON object"]}
    assert body[4]["errors"] == {"seller": ["unknown seller 'nobody'"], "status": ['"sold" is not a valid choice.']}
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]


def test_body_that_is_not_a_list_or_too_long_is_refused_whole(api_client, settings):
    response = api_client.post(URL, {"sku": "X"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "the body must be a JSON list of rows"}

    response = api_client.post(URL, [{"sku": f"X{i}"} for i in range(5001)], format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "at most 5000 rows per request, got 5001; split the batch"}
    assert Product.objects.count() == 0


def test_bulk_needs_add_and_change_permissions(api_client, operator_user):
    operator_user.user_permissions.remove(Permission.objects.get(codename="change_product"))
    response = api_client.post(URL, [{"sku": "X"}], format="json")
    assert response.status_code == 403
    assert Product.objects.count() == 0


def test_anonymous_is_refused():
    from rest_framework.test import APIClient

    response = APIClient().post(URL, [{"sku": "X"}], format="json")
    assert response.status_code == 401
    assert Product.objects.count() == 0


def test_idempotency_key_replays_the_first_response(api_client):
    rows = [{"sku": "K1", "list_price": "1.00"}]
    first = api_client.post(URL, rows, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    Product.objects.filter(sku="K1").update(list_price=Decimal("9.00"))

    again = api_client.post(URL, rows, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")

    assert first.status_code == again.status_code == 200
    assert (
        again.json()
        == first.json()
        == [{"index": 0, "status": "created", "id": Product.objects.get().pk, "errors": {}}]
    )
    assert again["Idempotent-Replayed"] == "true"
    # The replay did not apply the rows again.
    assert Product.objects.get().list_price == Decimal("9.00")
    assert IdempotencyRecord.objects.count() == 1


def test_idempotency_key_with_another_body_is_unprocessable(api_client):
    api_client.post(URL, [{"sku": "K1"}], format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    response = api_client.post(URL, [{"sku": "K2"}], format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert response.status_code == 422
    assert "already used with a different request body" in response.json()["detail"]
    assert list(Product.objects.values_list("sku", flat=True)) == ["K1"]


def test_idempotent_create_on_a_plain_endpoint(api_client):
    payload = {"name": "livros", "name_en": "books"}
    first = api_client.post("/api/v1/categories/", payload, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    again = api_client.post("/api/v1/categories/", payload, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Category.objects.count() == 1

"""Mass assignment: read-only and privileged fields sent to the API change nothing.

``test_privileged_fields_are_read_only`` walks every viewset in the /api/v1/ routers that creates or updates
and checks that fields only the server may set (ids, timestamps, who created/approved, action-only status
fields) are read-only in its serializer. The explicit cases post and patch such fields and assert the stored
object is exactly as the server would have made it without them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Category
from inventory.models import PurchaseOrder, StockMovement, Supplier
from pricing.models import PriceHistory
from tests.factories import CategoryFactory, LocationFactory, ProductFactory
from tests.hardening.test_authorization_matrix import API_PATTERNS

# Fields only the server sets, on every model that has them.
SERVER_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "approved_by",
    "approved_at",
    "promoted_by",
    "requested_by",
    "model_version",
    "reviewed_at",
    "answered_at",
    "analysis",
}
# Per model: further fields only actions or services may change.
ACTION_ONLY = {
    "logistics.OrderRisk": {"score", "reasons", "order"},
    "pricing.PriceHistory": {"source"},
    "inventory.StockMovement": {"created_by"},
    "catalog.CampaignAudience": {"members", "control_members", "snapshot_date"},
}
# Per model: fields with a privileged name that are ordinary data there.
DATA_FIELDS = {
    "orders.Order": {"approved_at"},  # when the shop approved the payment, sent by the integration
}


def _writable_viewsets():
    found = {}
    for pattern in API_PATTERNS.values():
        cls = getattr(pattern.callback, "cls", None)
        actions = set((getattr(pattern.callback, "actions", None) or {}).values())
        if cls is not None and actions & {"create", "update", "partial_update"} and cls.serializer_class:
            found[cls.__name__] = cls
    return sorted(found.items())


WRITABLE = _writable_viewsets()


def test_the_registry_has_writable_viewsets():
    assert len(WRITABLE) >= 25


@pytest.mark.parametrize(("name", "viewset"), WRITABLE, ids=[name for name, _ in WRITABLE])
def test_privileged_fields_are_read_only(name, viewset):
    serializer = viewset.serializer_class()
    model = serializer.Meta.model
    label = model._meta.label
    privileged = (SERVER_FIELDS | ACTION_ONLY.get(label, set())) - DATA_FIELDS.get(label, set())
    writable = sorted(field for field, spec in serializer.fields.items() if field in privileged and not spec.read_only)
    assert writable == []


def test_purchase_order_status_is_not_writable():
    from inventory.api.views import PurchaseOrderViewSet

    assert PurchaseOrderViewSet.serializer_class().fields["status"].read_only


@pytest.mark.django_db
def test_patching_id_and_timestamps_changes_nothing_but_the_name(api_client):
    category = CategoryFactory(name="shoes")
    before = Category.objects.get(pk=category.pk)
    response = api_client.patch(
        reverse("category-detail", args=[category.pk]),
        {
            "id": category.pk + 1000,
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
            "name": "boots",
        },
        format="json",
    )
    assert response.status_code == 200
    after = Category.objects.get(pk=category.pk)
    assert (after.pk, after.name, after.created_at) == (before.pk, "boots", before.created_at)
    assert after.updated_at >= before.updated_at
    assert not Category.objects.filter(pk=category.pk + 1000).exists()
    assert Category.objects.count() == 1


@pytest.mark.django_db
def test_stock_movement_ignores_id_created_by_and_created_at(api_client, operator_user, django_user_model):
    other = django_user_model.objects.create_user(username="someone-else")
    product, location = ProductFactory(), LocationFactory()
    response = api_client.post(
        reverse("stockmovement-list"),
        {
            "id": 424242,
            "product": product.pk,
            "location": location.pk,
            "on_hand_delta": 5,
            "reason": "receipt",
            "idempotency_key": "mass-1",
            "created_by": other.pk,
            "created_at": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    movement = StockMovement.objects.get(idempotency_key="mass-1")
    assert movement.pk != 424242
    assert movement.created_by_id == operator_user.pk
    assert movement.created_at.year >= 2025


@pytest.mark.django_db
def test_purchase_order_create_ignores_approval_and_creator(api_client, operator_user, django_user_model):
    other = django_user_model.objects.create_user(username="approver")
    supplier = Supplier.objects.create(code="SUP1", name="Supplier 1")
    location = LocationFactory()
    response = api_client.post(
        reverse("purchaseorder-list"),
        {
            "number": "PO-MASS-1",
            "supplier": supplier.pk,
            "location": location.pk,
            "created_by": other.pk,
            "approved_by": other.pk,
            "approved_at": "2020-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    order = PurchaseOrder.objects.get(number="PO-MASS-1")
    assert (order.created_by_id, order.approved_by_id, order.approved_at) == (operator_user.pk, None, None)
    assert order.status == PurchaseOrder.Status.DRAFT


@pytest.mark.django_db
def test_price_history_ignores_source_and_creator(api_client, operator_user, django_user_model):
    other = django_user_model.objects.create_user(username="pricer")
    product = ProductFactory()
    response = api_client.post(
        reverse("pricing-price-list"),
        {
            "product": product.sku,
            "price": "12.50",
            "effective_from": "2026-01-01",
            "source": PriceHistory.Source.RECOMMENDATION,
            "created_by": other.pk,
            "created_at": datetime(2000, 1, 1, tzinfo=UTC).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    price = PriceHistory.objects.get(product=product)
    assert price.price == Decimal("12.5000")
    assert price.source != PriceHistory.Source.RECOMMENDATION
    assert price.created_by_id == operator_user.pk
    assert price.created_at.year >= 2025

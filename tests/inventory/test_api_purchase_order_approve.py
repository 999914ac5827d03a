import pytest
from django.contrib.auth.models import Permission

from inventory.models import PurchaseOrder, Supplier
from tests.factories import LocationFactory


@pytest.fixture
def draft(db):
    supplier = Supplier.objects.create(code="S1", name="Supplier 1")
    return PurchaseOrder.objects.create(number="PO-1", supplier=supplier, location=LocationFactory())


def test_patching_status_changes_nothing(api_client, draft):
    response = api_client.patch(f"/api/v1/purchase-orders/{draft.pk}/", {"status": "approved"}, format="json")
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by, draft.approved_at) == ("draft", None, None)


def test_approve_records_who_and_when_and_only_once(api_client, operator_user, draft):
    response = api_client.post(f"/api/v1/purchase-orders/{draft.pk}/approve/")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by) == ("approved", operator_user)
    assert draft.approved_at is not None
    again = api_client.post(f"/api/v1/purchase-orders/{draft.pk}/approve/")
    assert again.status_code == 409


def test_approve_needs_the_change_permission(api_client, operator_user, draft):
    operator_user.user_permissions.remove(Permission.objects.get(codename="change_purchaseorder"))
    response = api_client.post(f"/api/v1/purchase-orders/{draft.pk}/approve/")
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"

"""Inventory admin: the ledger is read-only; stock changes through "adjust stock" and CSV counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import StockLevel, StockMovement
from inventory.services import stock_receive, stock_reserve
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/inventory/stocklevel/"


@pytest.fixture
def staff(client, operator_user):
    client.force_login(operator_user)
    return client


@pytest.fixture
def level():
    product, location = ProductFactory(sku="P1"), LocationFactory(code="WH1")
    stock_receive(product=product, location=location, quantity=10, key="r")
    stock_reserve(product=product, location=location, quantity=3, key="s")
    return StockLevel.objects.get()


def adjust(staff, level, **form):
    data = {"action": "adjust_stock", "_selected_action": [level.pk], "apply": "1", "nonce": "n-1", **form}
    return staff.post(CHANGELIST, data, follow=True)


def test_adjust_action_writes_a_movement_and_a_double_submit_applies_once(staff, level, operator_user):
    adjust(staff, level, mode="delta", quantity=-2, note="broken")
    response = adjust(staff, level, mode="delta", quantity=-2, note="broken")
    assert response.status_code == 200
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (8, 3)
    movement = StockMovement.objects.get(reason="adjustment")
    assert (movement.on_hand_delta, movement.reference, movement.created_by) == (-2, "broken", operator_user)


def test_adjust_below_reserved_is_refused_with_the_reason(staff, level):
    response = adjust(staff, level, mode="count", quantity=1)
    assert "insufficient stock of P1 at WH1: requested 9, available 7" in response.content.decode()
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (10, 3)


def test_adjust_form_is_shown_before_applying(staff, level):
    response = staff.post(CHANGELIST, {"action": "adjust_stock", "_selected_action": [level.pk]})
    assert response.status_code == 200
    assert "Apply through the ledger" in response.content.decode()
    assert StockMovement.objects.count() == 2


def test_ledger_admin_has_no_add_change_or_delete(staff, level):
    movement = StockMovement.objects.get(idempotency_key="r")
    assert staff.get("/admin/inventory/stockmovement/add/").status_code == 403
    assert staff.post(f"/admin/inventory/stockmovement/{movement.pk}/change/", {"on_hand_delta": 99}).status_code == 403
    assert staff.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert movement.on_hand_delta == 10


def test_csv_counts_go_through_the_ledger_and_a_reimport_changes_nothing(staff, level):
    url = reverse("admin:inventory_stocklevel_import_counts")
    csv = b"sku,location,counted\nP1,WH1,6\nNOPE,WH1,4\nP1,WH1,abc\n"

    response = staff.post(url, {"file": SimpleUploadedFile("count.csv", csv, "text/csv")})
    page = response.content.decode()

    assert response.status_code == 200
    assert "3 rows read: 1 applied, 0 already applied, 2 rejected." in page
    assert "unknown SKU &#x27;NOPE&#x27;" in page
    assert "&#x27;abc&#x27; is not a whole number" in page
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (6, 3)

    staff.post(url, {"file": SimpleUploadedFile("count.csv", csv, "text/csv")})
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (6, 3)
    assert StockMovement.objects.filter(reason="count").count() == 1


def test_csv_without_the_needed_columns_is_refused(staff, level):
    url = reverse("admin:inventory_stocklevel_import_counts")
    response = staff.post(url, {"file": SimpleUploadedFile("x.csv", b"sku,qty\nP1,3\n", "text/csv")})
    assert "x.csv: missing column(s) counted or delta, location" in response.content.decode()
    level.refresh_from_db()
    assert level.on_hand == 10


def test_stock_export_lists_levels(staff, level):
    response = staff.post(
        "/admin/inventory/stocklevel/export/", {"format": "0", "resource": "0", "export_items": [level.pk]}
    )
    assert response.status_code == 200

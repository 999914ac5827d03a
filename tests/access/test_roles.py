import pytest
from django.contrib.auth.models import Group

from access.roles import ROLES, sync_roles


def _codes(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.django_db
def test_migrate_creates_every_role_group():
    assert set(Group.objects.values_list("name", flat=True)) >= {role.name for role in ROLES}


@pytest.mark.django_db
def test_customer_service_agent_has_no_pricing_or_inventory_permission():
    codes = _codes("customer-service agent")
    assert "orders.view_order" in codes
    assert "feedback.change_queueitem" in codes
    assert "access.view_personal_data" in codes
    assert not {c for c in codes if c.startswith(("pricing.", "inventory."))}
    assert "orders.change_order" not in codes


@pytest.mark.django_db
def test_operator_reads_everything_but_changes_nothing_except_starting_jobs():
    codes = _codes("operator")
    assert {"catalog.view_product", "pricing.view_pricehistory", "ecomops.add_jobrun"} <= codes
    writes = {c for c in codes if not c.split(".")[1].startswith("view_")}
    assert writes == {"ecomops.add_jobrun"}


@pytest.mark.django_db
def test_pricing_analyst_cannot_touch_stock():
    codes = _codes("pricing analyst")
    assert "pricing.change_pricehistory" in codes
    assert "inventory.view_stocklevel" in codes
    assert not {c for c in codes if c.startswith("inventory.") and not c.split(".")[1].startswith("view_")}


@pytest.mark.django_db
def test_sync_undoes_a_permission_granted_by_hand():
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name="customer-service agent")
    group.permissions.add(Permission.objects.get(codename="change_pricehistory"))
    sync_roles()
    assert "pricing.change_pricehistory" not in _codes("customer-service agent")

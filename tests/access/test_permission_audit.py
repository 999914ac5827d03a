"""Audit history of permission changes: group membership, permissions, staff / superuser / active flags."""

import pytest
from django.contrib.auth.models import Group, Permission

from access.audit import acting_as
from access.models import PermissionChange
from access.roles import sync_roles


@pytest.fixture
def admin_user(django_user_model):
    user = django_user_model.objects.create_user(username="boss", password="boss-pass-2026", is_staff=True)
    user.groups.add(Group.objects.get(name="administrator"))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create_user(username="clerk", password="clerk-pass-2026")


def _rows(**filters):
    return list(
        PermissionChange.objects.filter(**filters)
        .order_by("pk")
        .values_list("actor_name", "target_name", "field", "before", "after")
    )


@pytest.mark.django_db
def test_group_membership_from_either_side_is_recorded_with_before_and_after(clerk, admin_user):
    PermissionChange.objects.all().delete()
    planner = Group.objects.get(name="inventory planner")
    with acting_as(admin_user):
        clerk.groups.add(planner)
        Group.objects.get(name="operator").user_set.add(clerk)  # from the group's side
        clerk.groups.remove(planner)
        clerk.groups.add(planner)  # already a member below: no change, no row
        clerk.groups.add(planner)
        clerk.groups.clear()
    assert _rows(target_user=clerk) == [
        ("boss", "clerk", "groups", [], ["inventory planner"]),
        ("boss", "clerk", "groups", ["inventory planner"], ["inventory planner", "operator"]),
        ("boss", "clerk", "groups", ["inventory planner", "operator"], ["operator"]),
        ("boss", "clerk", "groups", ["operator"], ["inventory planner", "operator"]),
        ("boss", "clerk", "groups", ["inventory planner", "operator"], []),
    ]
    change = PermissionChange.objects.filter(target_user=clerk).order_by("pk")[2]
    assert (change.added, change.removed) == ([], ["inventory planner"])
    assert change.actor == admin_user


@pytest.mark.django_db
def test_group_and_user_permissions_are_recorded(clerk):
    PermissionChange.objects.all().delete()
    group = Group.objects.create(name="auditors")
    view_order = Permission.objects.get(codename="view_order", content_type__app_label="orders")
    view_price = Permission.objects.get(codename="view_pricehistory", content_type__app_label="pricing")
    group.permissions.set([view_order, view_price])
    view_price.group_set.remove(group)  # from the permission's side
    clerk.user_permissions.add(view_price)
    assert _rows() == [
        ("", "auditors", "permissions", [], ["orders.view_order", "pricing.view_pricehistory"]),
        ("", "auditors", "permissions", ["orders.view_order", "pricing.view_pricehistory"], ["orders.view_order"]),
        ("", "clerk", "user_permissions", [], ["pricing.view_pricehistory"]),
    ]
    assert PermissionChange.objects.filter(target_group=group).count() == 2


@pytest.mark.django_db
def test_staff_superuser_and_active_flags_are_recorded(clerk, admin_user, django_user_model):
    PermissionChange.objects.all().delete()
    with acting_as(admin_user):
        clerk.is_staff = True
        clerk.save()
        clerk.is_superuser = True
        clerk.is_active = False
        clerk.save()
        clerk.first_name = "Clara"
        clerk.save()  # no flag changed: nothing recorded
        clerk.save(update_fields=["last_login"])
        django_user_model.objects.create_superuser(username="root2", password="root-pass-2026")
    assert _rows() == [
        ("boss", "clerk", "is_staff", False, True),
        ("boss", "clerk", "is_superuser", False, True),
        ("boss", "clerk", "is_active", True, False),
        ("boss", "root2", "is_staff", None, True),
        ("boss", "root2", "is_superuser", None, True),
    ]


@pytest.mark.django_db
def test_sync_roles_undoing_a_hand_granted_permission_is_recorded_without_actor():
    operator = Group.objects.get(name="operator")
    extra = Permission.objects.get(codename="change_order", content_type__app_label="orders")
    operator.permissions.add(extra)
    PermissionChange.objects.all().delete()
    sync_roles()
    (row,) = PermissionChange.objects.all()
    assert (row.actor, row.actor_name, row.target_group, row.field) == (None, "", operator, "permissions")
    assert (row.added, row.removed) == ([], ["orders.change_order"])


@pytest.mark.django_db
def test_changes_made_in_the_admin_name_the_admin_and_show_on_the_user_page(client, clerk, admin_user):
    PermissionChange.objects.all().delete()
    client.force_login(admin_user)
    url = f"/admin/auth/user/{clerk.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        "username": "clerk",
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "groups": [Group.objects.get(name="pricing analyst").pk],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
    }
    for inline in page.context["inline_admin_formsets"]:  # read-only history inline: management form only
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert sorted(_rows(target_user=clerk)) == [
        ("boss", "clerk", "groups", [], ["pricing analyst"]),
        ("boss", "clerk", "is_staff", False, True),
    ]
    page = client.get(url)
    (history,) = [i for i in page.context["inline_admin_formsets"] if i.formset.model is PermissionChange]
    shown = [form.instance for form in history.formset.forms]
    assert sorted((c.field, c.actor_name, c.added) for c in shown) == [
        ("groups", "boss", ["pricing analyst"]),
        ("is_staff", "boss", []),
    ]
    assert "Permission history" in page.content.decode()
    listing = client.get("/admin/access/permissionchange/?q=clerk")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == list(PermissionChange.objects.filter(target_user=clerk))
    # the history is read-only, even for an administrator
    row = PermissionChange.objects.filter(target_user=clerk).first()
    assert client.post(f"/admin/access/permissionchange/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/access/permissionchange/add/").status_code == 403


@pytest.mark.django_db
def test_a_user_without_the_view_permission_cannot_read_the_history(client, django_user_model):
    operator = django_user_model.objects.create_user(username="op", password="op-pass-2026", is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    client.force_login(operator)
    assert client.get("/admin/access/permissionchange/").status_code == 403

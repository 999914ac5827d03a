"""The roles of ecomops as groups with exactly their permissions.

A role is a list of grants ``(app_label, model_name or "*", actions)``; ``sync_roles`` makes every group's
permissions equal to its grants (adding the missing and removing the rest), so the definitions here are the
single source of truth and a permission granted by hand to a role group is undone on the next migrate.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

VIEW = ("view",)
READ_WRITE = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")
DOMAIN_APPS = ("catalog", "orders", "inventory", "pricing", "logistics", "feedback", "ecomops")


@dataclass(frozen=True)
class Grant:
    app_label: str
    model: str  # model_name (lower case) or "*"
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    grants: tuple[Grant, ...]
    staff: bool = True


def _all(actions, *apps) -> tuple[Grant, ...]:
    return tuple(Grant(app, "*", actions) for app in apps)


RUN_JOBS = (Grant("ecomops", "jobrun", ("view", "add")),)


def _customer_service_grants() -> tuple[Grant, ...]:
    # The feedback app states what its agents need (queue work, replies, the order's facts); no pricing or stock.
    from feedback.services_queue import CUSTOMER_SERVICE_PERMISSIONS

    grants = []
    for app_label, codename in CUSTOMER_SERVICE_PERMISSIONS:
        action, _, model = codename.partition("_")
        grants.append(Grant(app_label, model, (action,)))
    return tuple(grants)


ROLES: tuple[Role, ...] = (
    Role(
        name="operator",
        description="Reads everything and runs jobs (retraining, scoring).",
        grants=_all(VIEW, *DOMAIN_APPS) + RUN_JOBS,
    ),
    Role(
        name="inventory planner",
        description="Forecasts, stock, suppliers and purchase orders.",
        grants=_all(VIEW, "catalog", "orders", "pricing", "logistics", "ecomops")
        + _all(READ_WRITE, "inventory")
        + RUN_JOBS,
    ),
    Role(
        name="pricing analyst",
        description="Prices, promotions, competitor prices and price recommendations.",
        grants=_all(VIEW, "catalog", "orders", "inventory", "ecomops") + _all(READ_WRITE, "pricing") + RUN_JOBS,
    ),
    Role(
        name="customer-service agent",
        description="The review queue, and the orders and shipments of the review's customer. No pricing or stock.",
        grants=(
            *_customer_service_grants(),
            Grant("access", "apikey", ("view_personal_data",)),
        ),
    ),
    Role(
        name="integration",
        description="Other systems through the API only (not staff): catalog, orders, stock movements, reviews.",
        grants=(
            *_all(READ_WRITE, "catalog", "orders", "feedback"),
            Grant("inventory", "stockmovement", ("view", "add")),
            Grant("inventory", "stocklevel", VIEW),
            Grant("inventory", "location", VIEW),
            Grant("pricing", "competitorprice", ("view", "add")),
        ),
        staff=False,
    ),
    Role(
        name="administrator",
        description="Everything, including users and permissions.",
        grants=_all(ALL, *DOMAIN_APPS, "auth", "django_celery_beat", "access", "authtoken"),
    ),
)


def role_permissions(role: Role):
    condition = Q(pk__in=[])
    for grant in role.grants:
        codenames = Q()
        for action in grant.actions:
            if grant.model == "*":
                codenames |= Q(codename__startswith=f"{action}_")
            elif action == "view_personal_data":
                codenames |= Q(codename=action)
            else:
                codenames |= Q(codename=f"{action}_{grant.model}")
        condition |= Q(content_type__app_label=grant.app_label) & codenames
    return Permission.objects.filter(condition)


def sync_roles() -> dict[str, int]:
    """Create the role groups and set each one's permissions to exactly its grants."""
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.name)
        permissions = list(role_permissions(role))
        group.permissions.set(permissions)
        counts[role.name] = len(permissions)
    return counts


def role(name: str) -> Role:
    for candidate in ROLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # Run once per migrate, after the last app (ours is installed last) has created its permissions.
    if app_config is not None and app_config.label == "access":
        sync_roles()

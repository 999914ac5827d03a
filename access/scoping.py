"""Object-level access: a customer-service agent sees only the customers behind the feedback queue.

The role's permissions let an agent view orders, order lines, shipments, tracking events and customers; this
module narrows those tables to the customers whose reviews are in the queue (an open item, or one closed in
the last ``CLOSED_ITEM_DAYS`` days, for follow-ups). Everything else reads as if it did not exist: lists leave
it out, detail URLs answer 404, in the API (``CustomerScopeFilter``, a default DRF filter backend, so
``get_object`` and every list or action that filters its queryset use it) and in the admin
(``CustomerScopedAdmin``).

Only users whose role groups are all scoped roles are narrowed: an agent who is also an operator, a superuser,
or a user with permissions outside the role groups reads as before.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

SCOPED_ROLES = frozenset({"customer-service agent"})
CLOSED_ITEM_DAYS = 30

# model label -> path from the model to its customer's primary key
CUSTOMER_PATHS: dict[str, str] = {
    "catalog.customer": "pk",
    "orders.order": "customer_id",
    "orders.orderline": "order__customer_id",
    "orders.payment": "order__customer_id",
    "logistics.shipment": "order__customer_id",
    "logistics.trackingevent": "shipment__order__customer_id",
    "logistics.deliveryprediction": "order__customer_id",
    "logistics.orderrisk": "order__customer_id",
}


def is_customer_scoped(user) -> bool:
    """True for a user who only holds scoped roles (cached on the user object for the request)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return False
    cached = getattr(user, "_access_customer_scoped", None)
    if cached is None:
        from access.roles import ROLES

        role_names = {role.name for role in ROLES}
        held = set(user.groups.filter(name__in=role_names).values_list("name", flat=True))
        cached = bool(held) and held <= SCOPED_ROLES
        user._access_customer_scoped = cached
    return cached


def queue_customer_ids() -> QuerySet:
    """The customers of the reviews in the feedback queue (a subquery, evaluated by the database)."""
    from catalog.models import Customer
    from feedback.models import QueueItem

    recent = timezone.now() - timedelta(days=CLOSED_ITEM_DAYS)
    items = QueueItem.objects.filter(
        Q(state__in=QueueItem.OPEN_STATES) | Q(resolved_at__gte=recent) | Q(updated_at__gte=recent)
    )
    return Customer.objects.filter(orders__reviews__queue_item__in=items).values("pk")


def scope_queryset(queryset: QuerySet, user) -> QuerySet:
    """``queryset`` narrowed to the user's customers, when the user is scoped and the model has a customer."""
    path = CUSTOMER_PATHS.get(queryset.model._meta.label_lower)
    if path is None or not is_customer_scoped(user):
        return queryset
    return queryset.filter(**{f"{path}__in": queue_customer_ids()})


class CustomerScopeFilter:
    """DRF filter backend applying :func:`scope_queryset` (listed first in ``DEFAULT_FILTER_BACKENDS``)."""

    def filter_queryset(self, request, queryset, view):
        return scope_queryset(queryset, request.user)

    def get_schema_operation_parameters(self, view):
        return []


class CustomerScopedAdmin:
    """ModelAdmin mixin: changelists, change pages, autocompletes and actions only reach scoped rows."""

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

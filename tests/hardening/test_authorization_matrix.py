"""Authorization matrix: every /api/v1/ route and every admin changelist/add page, for every role.

The routes come from the URL resolver; what each one needs comes from the explicit ``API_ROUTES`` table
(keyed by URL name), so a new endpoint without an entry fails ``test_every_api_route_is_in_the_table``.
A rule is a permission action on the route's model (``"view"``, ``"add"``, ``"change"``, taken from the
view's queryset), a full permission (``"ecomops.add_jobrun"``), ``AUTH`` (any authenticated user) or
``PUBLIC``. The expected status is then computed from the role's real permissions (``access.roles``):

* anonymous -> 401 on the API, 302 to the login page on the admin;
* a role without the permission -> 403;
* a role with it -> 200 on a list, 404 on a detail URL for an object that does not exist.

A second API matrix hits every detail route with a real object (one per route's model, built like the admin
page tests build theirs) that is out of the customer-service agent's scope (``access.scoping``): a role with
the permission gets 200, except an agent, who gets 404 on the models narrowed to the queue's customers and
never sees those objects in a list either.

GETs only for the matrix; POST-only action routes are checked for anonymous (401) and for every role that
lacks the permission (403) -- those requests are refused before any body is read, so nothing is created.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from access.roles import ROLES
from access.scoping import CUSTOMER_PATHS, is_customer_scoped, scope_queryset
from tests.test_admin_pages import build

AUTH = "AUTH"
PUBLIC = "PUBLIC"
MISSING_PK = "987654321"

# URL name -> {method: rule}. Routes with a "pk"/"name" argument are hit with an object that does not exist.
API_ROUTES: dict[str, dict[str, str]] = {
    "api-root": {"GET": PUBLIC},
    "api-token": {"POST": PUBLIC},
    # catalog
    "category-list": {"GET": "view"},
    "category-detail": {"GET": "view"},
    "seller-list": {"GET": "view"},
    "seller-detail": {"GET": "view"},
    "product-list": {"GET": "view"},
    "product-bulk": {"POST": "add"},
    "product-detail": {"GET": "view"},
    "customer-list": {"GET": "view"},
    "customer-bulk": {"POST": "add"},
    "customer-detail": {"GET": "view"},
    "campaignaudience-list": {"GET": "view"},
    "campaignaudience-detail": {"GET": "view"},
    "campaignaudience-effect": {"GET": "view"},
    "campaignaudience-export": {"GET": "view"},
    "customer-recommendations": {"GET": "catalog.view_customerrecommendation"},
    "customer-analytics": {"GET": "catalog.view_customerscore"},
    "product-bought-together": {"GET": "catalog.view_productassociation"},
    "customer-analytics-train": {"POST": "catalog.add_customerscore"},
    # orders
    "order-list": {"GET": "view"},
    "order-bulk": {"POST": "add"},
    "order-detail": {"GET": "view"},
    "orderline-list": {"GET": "view"},
    "orderline-detail": {"GET": "view"},
    "payment-list": {"GET": "view"},
    "payment-detail": {"GET": "view"},
    # inventory
    "location-list": {"GET": "view"},
    "location-detail": {"GET": "view"},
    "stocklevel-list": {"GET": "view"},
    "stocklevel-detail": {"GET": "view"},
    "stockmovement-list": {"GET": "view"},
    "stockmovement-bulk": {"POST": "add"},
    "stockmovement-detail": {"GET": "view"},
    "supplier-list": {"GET": "view"},
    "supplier-detail": {"GET": "view"},
    "supplierproduct-list": {"GET": "view"},
    "supplierproduct-detail": {"GET": "view"},
    "purchaseorder-list": {"GET": "view"},
    "purchaseorder-detail": {"GET": "view"},
    "purchaseorder-approve": {"POST": "change"},
    "purchaseorderline-list": {"GET": "view"},
    "purchaseorderline-detail": {"GET": "view"},
    "salesobservation-list": {"GET": "view"},
    "salesobservation-detail": {"GET": "view"},
    "allocation-list": {"GET": "view"},
    "allocation-detail": {"GET": "view"},
    "serviceleveltarget-list": {"GET": "view"},
    "serviceleveltarget-detail": {"GET": "view"},
    "forecast-list": {"GET": "view"},
    "forecast-train": {"POST": "add"},
    "forecast-detail": {"GET": "view"},
    "replenishment-list": {"GET": "view"},
    "replenishment-compute": {"POST": "add"},
    "replenishment-create-purchase-orders": {"POST": "add"},
    "replenishment-detail": {"GET": "view"},
    # pricing
    "pricing-price-list": {"GET": "view"},
    "pricing-price-detail": {"GET": "view"},
    "pricing-promotion-list": {"GET": "view"},
    "pricing-promotion-detail": {"GET": "view"},
    "pricing-competitor-price-list": {"GET": "view"},
    "pricing-competitor-price-bulk": {"POST": "add"},
    "pricing-competitor-price-detail": {"GET": "view"},
    "pricing-elasticity-list": {"GET": "view"},
    "pricing-elasticity-detail": {"GET": "view"},
    "pricing-recommendation-list": {"GET": "view"},
    "pricing-recommendation-generate": {"POST": "add"},
    "pricing-recommendation-detail": {"GET": "view"},
    "pricing-recommendation-approve": {"POST": "change"},
    "pricing-recommendation-reject": {"POST": "change"},
    "pricing-rule-list": {"GET": "view"},
    "pricing-rule-detail": {"GET": "view"},
    "pricing-competitor-alert-list": {"GET": "view"},
    "pricing-competitor-alert-detail": {"GET": "view"},
    "pricing-competitor-alert-acknowledge": {"POST": "change"},
    "pricing-audit-list": {"GET": "view"},
    "pricing-audit-detail": {"GET": "view"},
    # logistics
    "carrier-list": {"GET": "view"},
    "carrier-detail": {"GET": "view"},
    "ziparea-list": {"GET": "view"},
    "ziparea-detail": {"GET": "view"},
    "shipment-list": {"GET": "view"},
    "shipment-detail": {"GET": "view"},
    "trackingevent-list": {"GET": "view"},
    "trackingevent-detail": {"GET": "view"},
    "deliveryprediction-list": {"GET": "view"},
    "deliveryprediction-likely-late": {"GET": "view"},
    "deliveryprediction-predict": {"POST": "add"},
    "deliveryprediction-detail": {"GET": "view"},
    "orderrisk-list": {"GET": "view"},
    "orderrisk-detail": {"GET": "view"},
    "routeplan-list": {"GET": "view"},
    "routeplan-plan": {"POST": "add"},
    "routeplan-detail": {"GET": "view"},
    # feedback
    "review-list": {"GET": "view"},
    "review-bulk": {"POST": "add"},
    "review-detail": {"GET": "view"},
    "feedback-queue-list": {"GET": "view"},
    "feedback-queue-claim": {"POST": "add"},
    "feedback-queue-detail": {"GET": "view"},
    "feedback-queue-dismiss": {"POST": "add"},
    "feedback-queue-notes": {"POST": "add"},
    "feedback-queue-reassign": {"POST": "add"},
    "feedback-queue-release": {"POST": "add"},
    "feedback-queue-reply": {"POST": "add"},
    "feedback-queue-resolve": {"POST": "add"},
    "feedback-queue-start": {"POST": "add"},
    "feedback-queue-suggestion": {"GET": "view"},
    "feedback-queue-wait": {"POST": "add"},
    "replytemplate-list": {"GET": "view"},
    "replytemplate-detail": {"GET": "view"},
    "topickeyword-list": {"GET": "view"},
    "topickeyword-detail": {"GET": "view"},
    "feedback-analyze": {"POST": AUTH},
    # platform
    "jobrun-list": {"GET": "view"},
    "jobrun-detail": {"GET": "view"},
    "jobrun-cancel": {"POST": "ecomops.change_jobrun"},
    "registeredmodel-list": {"GET": "view"},
    "registeredmodel-detail": {"GET": "view"},
    "registeredmodel-score": {"POST": "ecomops.add_jobrun"},
    "registeredmodel-train": {"POST": "ecomops.add_jobrun"},
    "modelversion-list": {"GET": "view"},
    "modelversion-detail": {"GET": "view"},
    "modelversion-activate": {"POST": "ecomops.change_modelversion"},
}

# Admin pages whose add view is disabled for everybody (the objects are made by services/jobs only).
ROLE_NAMES = [role.name for role in ROLES]


def _api_patterns():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    seen = {}
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/") and "format" not in route and pattern.name not in seen:
            seen[pattern.name] = pattern
    return seen


API_PATTERNS = _api_patterns()


def _route_model(pattern):
    cls = getattr(pattern.callback, "cls", None)
    queryset = getattr(cls, "queryset", None)
    return queryset.model if queryset is not None else None


def _required_permission(name: str, method: str) -> str:
    rule = API_ROUTES[name][method]
    if rule in (AUTH, PUBLIC) or "." in rule:
        return rule
    model = _route_model(API_PATTERNS[name])
    return f"{model._meta.app_label}.{rule}_{model._meta.model_name}"


def _url(name: str) -> str:
    pattern = API_PATTERNS[name]
    kwargs = {
        key: MISSING_PK if key == "pk" else "no-such-model"
        for key in re.findall(r"\(\?P<(\w+)>|<(?:int:)?(\w+)>", str(pattern.pattern))
        for key in key
        if key
    }
    return reverse(name, kwargs=kwargs)


def _is_detail(name: str) -> bool:
    return bool(API_PATTERNS[name].pattern.regex.groupindex)


def _url_of(name: str, obj) -> str:
    """The route's URL for an existing object (by the view's lookup field)."""
    cls = API_PATTERNS[name].callback.cls
    lookup = getattr(cls, "lookup_field", "pk") or "pk"
    kwarg = getattr(cls, "lookup_url_kwarg", None) or lookup
    return reverse(name, kwargs={kwarg: getattr(obj, lookup)})


@pytest.fixture
def role_user(db, django_user_model):
    def make(role_name: str | None):
        if role_name is None:
            return None
        role = next(r for r in ROLES if r.name == role_name)
        user = django_user_model.objects.create_user(username=role_name.replace(" ", "-"), is_staff=role.staff)
        user.groups.add(Group.objects.get(name=role_name))
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return make


def test_every_api_route_is_in_the_table():
    assert sorted(set(API_PATTERNS) - set(API_ROUTES)) == [], "add the new routes to API_ROUTES"
    assert sorted(set(API_ROUTES) - set(API_PATTERNS)) == [], "remove routes that no longer exist"
    for name, rules in API_ROUTES.items():
        methods = {m.upper() for m in getattr(API_PATTERNS[name].callback, "actions", {}) or {}}
        if methods:
            assert set(rules) <= methods, name


@pytest.mark.parametrize("role_name", [None, *ROLE_NAMES], ids=["anonymous", *ROLE_NAMES])
def test_api_matrix(role_name, role_user):
    user = role_user(role_name)
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    wrong = []
    checked = 0
    for name in sorted(API_ROUTES):
        for method in API_ROUTES[name]:
            perm = _required_permission(name, method)
            if perm == PUBLIC:
                continue
            allowed = user is not None and (perm == AUTH or user.has_perm(perm))
            if method == "POST" and allowed:
                continue  # POST matrix only covers refusals
            if user is None:
                expected = 401
            elif not allowed:
                expected = 403
            else:
                expected = 404 if _is_detail(name) else 200
            cache.clear()  # the anonymous throttle must not turn 401s into 429s
            response = getattr(client, method.lower())(_url(name), format="json")
            checked += 1
            if response.status_code != expected:
                wrong.append((name, method, perm, expected, response.status_code))
    assert wrong == []
    assert checked >= 50


# Detail routes of plain APIViews (no get_object) whose URL takes another model's pk than their queryset's.
URL_OBJECT_MODEL: dict[str, str] = {
    "customer-recommendations": "catalog.customer",
    "customer-analytics": "catalog.customer",
    "product-bought-together": "catalog.product",
}


def _url_model(name: str):
    from django.apps import apps
    from rest_framework.generics import GenericAPIView

    if name in URL_OBJECT_MODEL:
        return apps.get_model(URL_OBJECT_MODEL[name])
    cls = API_PATTERNS[name].callback.cls
    assert issubclass(cls, GenericAPIView), f"{name}: not a generic view, say in URL_OBJECT_MODEL what its URL takes"
    return _route_model(API_PATTERNS[name])


# Detail routes that answer something other than 200 for an existing object a role may read, and why.
EXISTING_SUCCESS: dict[str, int] = {
    # the built audience has no campaign window to measure: a validation answer, given after the permission check
    "campaignaudience-effect": 400,
}


@pytest.fixture
def existing_objects(db):
    """One saved object per model behind a GET detail route, none in a customer-service agent's scope.

    The feedback queue gets one item (so the agent's scope is not empty); every object of the narrowed models
    belongs to another customer.
    """
    from tests.feedback.factories import QueueItemFactory

    in_queue = QueueItemFactory()
    objects = {}
    for name in sorted(API_ROUTES):
        if "GET" not in API_ROUTES[name] or not _is_detail(name):
            continue
        model = _url_model(name)
        assert model is not None, f"{name}: a detail route without a queryset needs its own rule here"
        if model not in objects:
            with transaction.atomic():
                objects[model] = build(model)
    queue_customer = in_queue.review.order.customer_id
    for model, obj in objects.items():
        path = CUSTOMER_PATHS.get(model._meta.label_lower)
        if path is not None:
            assert model.objects.filter(pk=obj.pk).values_list(path, flat=True).get() != queue_customer, model
    return objects


@pytest.mark.parametrize("role_name", [None, *ROLE_NAMES], ids=["anonymous", *ROLE_NAMES])
def test_api_matrix_on_existing_objects_out_of_the_agents_scope(role_name, role_user, existing_objects):
    user = role_user(role_name)
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    scoped = is_customer_scoped(user)
    wrong, checked = [], 0
    for name in sorted(API_ROUTES):
        if "GET" not in API_ROUTES[name]:
            continue
        perm = _required_permission(name, "GET")
        if perm == PUBLIC:
            continue
        model = _route_model(API_PATTERNS[name])
        narrowed = scoped and model is not None and model._meta.label_lower in CUSTOMER_PATHS
        allowed = user is not None and (perm == AUTH or user.has_perm(perm))
        cache.clear()
        if not _is_detail(name):
            if not narrowed or not allowed:
                continue
            # a list of a narrowed model shows the agent exactly its scope, never the out-of-scope object
            response = client.get(_url(name), {"limit": 1000})
            rows = response.json()["results"]
            expected = scope_queryset(API_PATTERNS[name].callback.cls.queryset.all(), user).count()
            if response.json()["count"] != expected or existing_objects[model].pk in {r.get("id") for r in rows}:
                wrong.append((name, "list", expected, response.json()["count"]))
            checked += 1
            continue
        if user is None:
            expected = 401
        elif not allowed:
            expected = 403
        elif narrowed:
            expected = 404
        else:
            expected = EXISTING_SUCCESS.get(name, 200)
        response = client.get(_url_of(name, existing_objects[_url_model(name)]))
        checked += 1
        if response.status_code != expected:
            wrong.append((name, perm, expected, response.status_code))
    assert wrong == []
    assert checked >= 40


def _admin_pages():
    pages = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append((model, model_admin, "changelist", reverse("admin:{}_{}_changelist".format(*info))))
        pages.append((model, model_admin, "add", reverse("admin:{}_{}_add".format(*info))))
    return sorted(pages, key=lambda page: page[3])


@pytest.mark.parametrize("role_name", [None, *ROLE_NAMES], ids=["anonymous", *ROLE_NAMES])
def test_admin_matrix(role_name, role_user, client):
    user = role_user(role_name)
    if user is not None:
        client.force_login(user)
    wrong = []
    pages = _admin_pages()
    for model, model_admin, kind, url in pages:
        label = f"{model._meta.app_label}.%s_{model._meta.model_name}"
        if user is None or not user.is_staff:
            expected = 302
        elif kind == "changelist":
            expected = 200 if user.has_perm(label % "view") or user.has_perm(label % "change") else 403
        else:
            expected = 200 if user.has_perm(label % "add") and model_admin.has_add_permission(_Req(user)) else 403
        response = client.get(url)
        if response.status_code != expected:
            wrong.append((url, expected, response.status_code))
        elif expected == 302:
            assert response["Location"].startswith(reverse("admin:login")), url
    assert wrong == []
    assert len(pages) >= 40


class _Req:
    """Just enough of a request for ModelAdmin.has_add_permission."""

    def __init__(self, user):
        self.user = user
        self.GET = {}
        self.POST = {}
        self.method = "GET"

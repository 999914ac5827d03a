"""Every API list endpoint runs the same number of queries for 1 row as for 100 (no N+1 queries).

The list routes come from the URL resolver (every ``/api/v1/`` route whose GET is a ViewSet's ``list``), so
a new list endpoint is checked without an entry here. For each one the test builds one object of the
view's model (its factory, or a minimal object as ``tests/test_admin_pages.build`` makes it, each with its
own related rows), lists it as a superuser with ``?limit=100``, builds 99 more and lists again: both pages
must hold all the objects and take exactly as many queries.

``SETUP`` makes the objects of models whose lists only show rows in some state (``build`` alone would give
an empty page and prove nothing); ``NOT_CHECKED`` names the list routes that cannot be checked this way,
with the reason. A route whose page does not grow to 100 and that is in neither table fails.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tests.test_admin_pages import build

ROWS = 100


def _list_routes() -> dict[str, URLPattern]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    routes = {}
    for route, pattern in walk(get_resolver().url_patterns):
        actions = getattr(pattern.callback, "actions", None) or {}
        if route.startswith("api/v1/") and "format" not in route and actions.get("get") == "list":
            routes.setdefault(pattern.name, pattern)
    return dict(sorted(routes.items()))


LIST_ROUTES = _list_routes()

# Route name -> why its list cannot be checked by building rows (none so far).
NOT_CHECKED: dict[str, str] = {}


# Route name -> a function that makes one object the list shows (when ``build`` would not do; none so far).
SETUP: dict[str, object] = {}


def _model(pattern: URLPattern):
    return pattern.callback.cls.queryset.model


def _page(client: APIClient, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"limit": ROWS})
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return len(rows), len(queries)


def test_the_list_routes_are_found():
    # a sample of the apps' list routes; the check below runs for every route found
    assert {"product-list", "order-list", "stockmovement-list", "review-list", "shipment-list"} <= set(LIST_ROUTES)
    assert not set(NOT_CHECKED) - set(LIST_ROUTES), "remove routes that no longer exist"


@pytest.mark.django_db
@pytest.mark.parametrize("name", [n for n in LIST_ROUTES if n not in NOT_CHECKED])
def test_list_queries_do_not_grow_with_rows(name, admin_user):
    pattern = LIST_ROUTES[name]
    model = _model(pattern)
    make = SETUP.get(name, lambda: build(model))
    client = APIClient()
    client.force_authenticate(admin_user)
    url = reverse(name)

    with transaction.atomic():
        make()
    one, queries_for_one = _page(client, url)
    assert one == 1, f"{name}: the list shows {one} rows after building one {model._meta.label}; add it to SETUP"
    for _ in range(ROWS - 1):
        with transaction.atomic():
            make()
    many, queries_for_many = _page(client, url)
    assert many == ROWS, f"{name}: {many} rows listed, {ROWS} built"
    assert queries_for_many == queries_for_one, (
        f"{name}: {queries_for_one} queries for 1 row, {queries_for_many} for {ROWS}"
    )

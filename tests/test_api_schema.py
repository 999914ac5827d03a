"""The OpenAPI schema validates, names every /api/v1/ endpoint, and the docs are served offline."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

# Apps whose API this test holds to zero schema warnings (the others are reported, not enforced here).
STRICT_MODULES = ("catalog/api/views.py", "orders/api/views.py", "inventory/api/views.py", "ecomops/api/bulk.py")


def _api_paths(resolver=None, prefix=""):
    """OpenAPI-style paths of every URL pattern, e.g. ``/api/v1/orders/{id}/``."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_paths(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def _openapi_form(pattern: str) -> str | None:
    """``^api/v1/orders/(?P<pk>[^/.]+)/$`` -> ``/api/v1/orders/{id}/``; None for format-suffix duplicates."""
    if "format>" in pattern:
        return None
    path = pattern.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{" + m.group(1) + "}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + m.group(1) + "}", path)
    return "/" + path.replace("{pk}", "{id}")


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return generated


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "ecomops API"


def test_every_api_v1_url_appears_in_the_schema(schema):
    expected = {
        path
        for pattern in _api_paths()
        if (path := _openapi_form(pattern)) and path.startswith("/api/v1/") and path != "/api/v1/"
    }
    documented = set(schema["paths"])
    assert expected, "no /api/v1/ URL found"
    assert sorted(expected - documented) == []


def test_bulk_endpoints_are_documented_with_their_row_results(schema):
    for name in ("products", "customers", "orders", "stock-movements"):
        operation = schema["paths"][f"/api/v1/{name}/bulk/"]["post"]
        assert {"200", "207", "400", "409", "422"} <= set(operation["responses"])
        assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"


def test_owned_views_generate_without_warnings(capsys):
    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    output = capsys.readouterr().err
    mine = [line for line in output.splitlines() if any(module in line for module in STRICT_MODULES)]
    assert mine == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_schema_and_docs_are_served(api_client, url):
    response = api_client.get(url)
    assert response.status_code == 200


@pytest.mark.django_db
def test_docs_load_their_assets_from_the_sidecar_not_a_cdn(api_client):
    for url in ("/api/docs/", "/api/redoc/"):
        page = api_client.get(url).content.decode()
        assert "drf_spectacular_sidecar" in page
        assert "cdn.jsdelivr.net" not in page
        assert "unpkg.com" not in page

"""Content-Security-Policy and the other security headers on the admin, the reports and the API docs."""

import re
from datetime import date

import pytest
from django.urls import reverse

from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
EXPECTED_DIRECTIVES = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _assert_strict(response) -> dict[str, list[str]]:
    policy = _policy(response)
    for directive, sources in EXPECTED_DIRECTIVES.items():
        assert policy[directive] == sources, directive
    script = policy["script-src"]
    assert script[0] == "'self'" and all(s.startswith("'nonce-") for s in script[1:]), script
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    # nothing from another host anywhere in the policy
    assert not [s for sources in policy.values() for s in sources if "://" in s or s.startswith("*")]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    return policy


@pytest.mark.django_db
def test_admin_pages_carry_the_policy_and_inline_script_has_the_nonce(client, operator_user):
    client.force_login(operator_user)
    _assert_strict(client.get("/admin/"))
    response = client.get(reverse("admin:ecomops_jobrun_changelist"))
    assert response.status_code == 200
    policy = _assert_strict(response)
    # the job list's reload script is the page's only inline script, and it carries this response's nonce
    nonces = re.findall(r'<script nonce="([^"]+)">', response.content.decode())
    assert len(nonces) == 1
    assert policy["script-src"] == ["'self'", f"'nonce-{nonces[0]}'"]
    assert INLINE_SCRIPT.findall(response.content.decode()) == [f'<script nonce="{nonces[0]}">']


@pytest.mark.django_db
def test_login_page_and_anonymous_redirects_carry_the_policy(client):
    _assert_strict(client.get("/admin/login/"))
    _assert_strict(client.get("/admin/"))  # the redirect to the login page


@pytest.mark.django_db
def test_report_page_with_inline_svg_carries_the_policy(client, operator_user):
    spec = ModelSpec(name="report-model", primary_metric="mae", higher_is_better=False)
    for mae in (0.9, 0.7):
        version = model_version_register(
            spec=spec,
            trained=TrainedModel("linear", {"w": 1}, {"mae": mae}, as_of=date(2018, 6, 1)),
        )
        model_version_promote_if_better(version=version)
    client.force_login(operator_user)
    response = client.get(reverse("ecomops_reports:models"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body  # the chart is inline SVG: it needs no script, only inline styles
    assert INLINE_SCRIPT.findall(body) == []
    policy = _assert_strict(response)
    assert policy["script-src"] == ["'self'"]  # no nonce handed out when no inline script asked for one


@pytest.mark.django_db
def test_api_docs_need_no_inline_script_from_another_host(client, operator_user):
    client.force_login(operator_user)
    swagger = client.get("/api/docs/")
    assert swagger.status_code == 200
    body = swagger.content.decode()
    _assert_strict(swagger)
    # every script is a file of ours: Swagger UI from the sidecar's static files, its set-up from ?script
    assert INLINE_SCRIPT.findall(body) == []
    sources = re.findall(r'<script src="([^"]+)"', body)
    assert len(sources) == 3 and all(src.startswith("/") for src in sources), sources
    setup = client.get(sources[-1])
    assert setup.status_code == 200
    assert setup["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in setup.content.decode()

    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200
    body = redoc.content.decode()
    policy = _assert_strict(redoc)
    assert "googleapis" not in body and "https://" not in body
    (nonce,) = re.findall(r'<script nonce="([^"]+)">', body)
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert re.findall(r'<script src="([^"]+)"', body)[0].startswith("/static/")


@pytest.mark.django_db
def test_api_responses_carry_the_policy_too(client):
    response = client.get("/api/v1/")
    assert "default-src 'self'" in response["Content-Security-Policy"]

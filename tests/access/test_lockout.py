"""Brute-force lockout (django-axes) on the admin login, the token endpoint and API keys / tokens."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access.authentication import KEY_GUESSER
from access.services import api_key_create

PASSWORD = "right-password-2026"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_PASSWORD_FAILURE_LIMIT = 5
    settings.API_KEY_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    cache.clear()  # the anonymous throttle of the token endpoint must not answer first


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="planner", password=PASSWORD, is_staff=True)


def _admin_login(client, username, password, ip="10.0.0.1"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_admin_login_locks_the_username_and_address_after_five_failures(client, staff):
    statuses = [_admin_login(client, "planner", "wrong").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the form again 4 times, then the lockout page
    # locked: the right password is refused too, from that address
    assert _admin_login(client, "planner", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # the same user from another address, and another user from the same address, are not locked
    assert _admin_login(client, "planner", PASSWORD, ip="10.0.0.2").status_code == 302
    client.logout()
    staff.__class__.objects.create_user(username="other", password=PASSWORD, is_staff=True)
    assert _admin_login(client, "other", PASSWORD).status_code == 302
    attempt = AccessAttempt.objects.get(username="planner", ip_address="10.0.0.1")
    assert attempt.failures_since_start >= 5


@pytest.mark.django_db
def test_lockout_ends_after_the_cool_off_or_a_reset(client, staff):
    for _ in range(5):
        _admin_login(client, "planner", "wrong")
    assert _admin_login(client, "planner", PASSWORD).status_code == 429
    # 16 minutes later the 15-minute cool-off has passed
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _admin_login(client, "planner", PASSWORD).status_code == 302
    client.logout()
    for _ in range(5):
        _admin_login(client, "planner", "wrong")
    assert _admin_login(client, "planner", PASSWORD).status_code == 429
    assert reset(username="planner") == 1  # what `manage.py axes_reset_username planner` does
    assert _admin_login(client, "planner", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_successful_login_clears_the_earlier_failures(client, staff):
    for _ in range(4):
        assert _admin_login(client, "planner", "wrong").status_code == 200
    assert _admin_login(client, "planner", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _admin_login(client, "planner", "wrong").status_code == 200
    assert _admin_login(client, "planner", PASSWORD).status_code == 302


def _token(client, username, password, ip="10.0.0.1"):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_token_endpoint_locks_out_after_five_failures():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="erp", password=PASSWORD)
    client = APIClient()
    statuses = [_token(client, "erp", "wrong").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    response = _token(client, "erp", PASSWORD)
    assert response.status_code == 429
    assert "token" not in response.json()
    assert _token(client, "erp", PASSWORD, ip="10.0.0.9").json() == {"token": Token.objects.get(user=user).key}
    reset(username="erp")
    assert _token(client, "erp", PASSWORD).status_code == 200


@pytest.fixture
def integration_key(django_user_model):
    user = django_user_model.objects.create_user(username="shop", password=PASSWORD)
    user.groups.add(Group.objects.get(name="integration"))
    _, plain = api_key_create(name="shop", user=user, scopes=["catalog"])
    return plain


def _with_key(header, ip="10.0.0.1"):
    return APIClient().get("/api/v1/categories/", HTTP_AUTHORIZATION=header, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_wrong_api_keys_lock_the_address_out_of_key_authentication(integration_key):
    assert _with_key(f"Api-Key {integration_key}").status_code == 200
    prefix = integration_key.split(".")[0]
    statuses = [_with_key(f"Api-Key {prefix}.guess{i}").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]  # limit 3: the 4th request is refused before the key is checked
    response = _with_key(f"Api-Key {integration_key}")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert _with_key(f"Api-Key {integration_key}", ip="10.0.0.2").status_code == 200
    attempt = AccessAttempt.objects.get(ip_address="10.0.0.1")
    assert attempt.username == KEY_GUESSER
    reset(ip="10.0.0.1")
    assert _with_key(f"Api-Key {integration_key}").status_code == 200


@pytest.mark.django_db
def test_wrong_tokens_count_like_wrong_keys(django_user_model):
    user = django_user_model.objects.create_user(username="reader", password=PASSWORD)
    token = Token.objects.create(user=user)
    client = APIClient()
    statuses = [
        client.get("/api/v1/auth/token/", HTTP_AUTHORIZATION=f"Token {'0' * 40}", REMOTE_ADDR="10.0.0.5").status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    response = client.get("/api/v1/categories/", HTTP_AUTHORIZATION=f"Token {token.key}", REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 429
    response = client.get("/api/v1/categories/", HTTP_AUTHORIZATION=f"Token {token.key}", REMOTE_ADDR="10.0.0.6")
    assert response.status_code == 403  # authenticated; no permission to view categories: not a lockout

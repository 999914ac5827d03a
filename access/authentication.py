"""DRF authentication by API key (``Authorization: Api-Key <prefix>.<secret>``) and its scope check.

Wrong keys and tokens are failed logins for django-axes: DRF answers an authentication failure before its
throttles run, so without this a client could guess keys at full speed. Every wrong key or token from one
address counts against the pseudo-username ``KEY_GUESSER`` (not a valid username) with that address; after
``API_KEY_FAILURE_LIMIT`` of them within the cool-off, every key or token request from that address answers
429 until the cool-off has passed, the right key included.
"""

from __future__ import annotations

import hmac

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from .models import APIKey

KEYWORD = "Api-Key"
# The username axes records wrong keys and tokens under (angle brackets: no real user can be called that).
KEY_GUESSER = "<api-key>"


def failure_limit(request, credentials) -> int:
    """``AXES_FAILURE_LIMIT`` for password logins, ``API_KEY_FAILURE_LIMIT`` for keys and tokens."""
    if (credentials or {}).get("username") == KEY_GUESSER:
        return settings.API_KEY_FAILURE_LIMIT
    return settings.AXES_PASSWORD_FAILURE_LIMIT


class KeyLockoutMixin:
    """Refuse key/token authentication from an address locked out for guessing, and count wrong ones."""

    credentials = {"username": KEY_GUESSER}

    def refuse_if_locked_out(self, request) -> None:
        if settings.AXES_ENABLED and not AxesProxyHandler.is_allowed(request, self.credentials):
            cool_off = get_cool_off(request)
            raise exceptions.Throttled(
                wait=cool_off.total_seconds() if cool_off else None,
                detail="too many invalid API keys or tokens from this address; try again later",
            )

    def count_failure(self, request) -> None:
        user_login_failed.send(sender=type(self), credentials=self.credentials, request=request)


class APIKeyAuthentication(KeyLockoutMixin, authentication.BaseAuthentication):
    """Authenticates as the key's user; ``request.auth`` is the APIKey so scopes can be checked."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{KEYWORD} "):
            return None
        self.refuse_if_locked_out(request)
        prefix, _, secret = header[len(KEYWORD) + 1 :].strip().partition(".")
        key = APIKey.objects.select_related("user").filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.hashed_secret, APIKey.hash_secret(secret)):
            self.count_failure(request)
            raise exceptions.AuthenticationFailed("invalid API key")
        if not key.is_usable:
            raise exceptions.AuthenticationFailed("API key revoked or expired")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("API key's user is inactive")
        APIKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return key.user, key

    def authenticate_header(self, request):
        return KEYWORD


class TokenAuthentication(KeyLockoutMixin, authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, with wrong tokens counted like wrong API keys."""

    def authenticate(self, request):
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        self.refuse_if_locked_out(request)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            self.count_failure(request)
            raise


class APIKeyScope(permissions.BasePermission):
    """A request made with an API key may only reach the apps listed in the key's scopes."""

    message = "this API key is not scoped for this endpoint"

    def has_permission(self, request, view):
        if not isinstance(request.auth, APIKey):
            return True
        queryset = getattr(view, "queryset", None)
        if queryset is None and hasattr(view, "get_queryset"):
            try:
                queryset = view.get_queryset()
            except Exception:  # noqa: BLE001 - views without a queryset are out of every scope
                queryset = None
        if queryset is None:
            return False
        return queryset.model._meta.app_label in request.auth.scopes

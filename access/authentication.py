"""DRF authentication by API key (``Authorization: Api-Key <prefix>.<secret>``) and its scope check."""

from __future__ import annotations

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from .models import APIKey

KEYWORD = "Api-Key"


class APIKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates as the key's user; ``request.auth`` is the APIKey so scopes can be checked."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{KEYWORD} "):
            return None
        prefix, _, secret = header[len(KEYWORD) + 1 :].strip().partition(".")
        key = APIKey.objects.select_related("user").filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.hashed_secret, APIKey.hash_secret(secret)):
            raise exceptions.AuthenticationFailed("invalid API key")
        if not key.is_usable:
            raise exceptions.AuthenticationFailed("API key revoked or expired")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("API key's user is inactive")
        APIKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return key.user, key

    def authenticate_header(self, request):
        return KEYWORD


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

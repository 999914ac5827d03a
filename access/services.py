"""Writes of the access app: API keys."""

from __future__ import annotations

import secrets
from datetime import datetime

from .models import APIKey


def api_key_create(*, name: str, user, scopes: list[str], expires_at: datetime | None = None) -> tuple[APIKey, str]:
    """Create a key and return it with its plain text, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = APIKey.objects.create(
        name=name,
        user=user,
        prefix=prefix,
        hashed_secret=APIKey.hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return key, f"{prefix}.{secret}"


def api_key_revoke(*, key: APIKey) -> None:
    APIKey.objects.filter(pk=key.pk).update(revoked=True)

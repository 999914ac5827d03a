"""API keys for integrations: stored hashed, scoped, expiring, with their last use."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from ecomops.models import TimeStampedModel


class APIKey(TimeStampedModel):
    """A key an integration sends as ``Authorization: Api-Key <prefix>.<secret>``; only its hash is stored."""

    name = models.CharField(max_length=128)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=12, unique=True)
    hashed_secret = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True, help_text='App labels it may reach, e.g. ["orders"].')
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"
        # Held by roles that need customers' personal data unmasked (administrator, customer service).
        permissions = [("view_personal_data", "Can see customers' personal data unmasked")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def is_usable(self) -> bool:
        return not self.revoked and (self.expires_at is None or self.expires_at > timezone.now())

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


class PermissionChange(models.Model):
    """One change of a user's or a group's access (see ``access.audit``): who, when, before and after."""

    class Field(models.TextChoices):
        GROUPS = "groups", "user's groups"
        USER_PERMISSIONS = "user_permissions", "user's own permissions"
        GROUP_PERMISSIONS = "permissions", "group's permissions"
        IS_STAFF = "is_staff", "staff status"
        IS_SUPERUSER = "is_superuser", "superuser status"
        IS_ACTIVE = "is_active", "active"

    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: outside a request (migrate, shell).")
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_name = models.CharField(max_length=150)
    field = models.CharField(max_length=32, choices=Field.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["target_name", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.target_name}: {self.get_field_display()} by {self.actor_name or 'system'} at {self.changed_at:%Y-%m-%d %H:%M}"

    @property
    def added(self) -> list:
        if isinstance(self.after, list):
            return sorted(set(self.after) - set(self.before or []))
        return []

    @property
    def removed(self) -> list:
        if isinstance(self.before, list):
            return sorted(set(self.before) - set(self.after or []))
        return []

"""Audit history of permission changes: who changed which user's or group's access, when, before and after.

Recorded from Django's signals, so every path is covered (admin, API, shell, ``sync_roles`` on migrate):

* a user's groups and direct permissions, and a group's permissions (``m2m_changed``, from either side:
  ``user.groups.add(group)`` and ``group.user_set.add(user)`` both record the user's groups);
* a user's ``is_staff``, ``is_superuser`` and ``is_active`` flags (``pre_save`` / ``post_save``; a new user
  is recorded when created staff or superuser). A queryset ``update()`` sends no signal and is not recorded:
  ecomops changes these only through ``save()`` (admin, services).

The actor is the user of the request being served (``AuditActorMiddleware`` keeps it in a context variable);
changes made outside a request (migrate, management commands) have no actor. Each row keeps the names of the
actor and the target, so it still reads right after either is deleted.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save, pre_save

_current_request: ContextVar = ContextVar("access_audit_request", default=None)

FLAGS = ("is_staff", "is_superuser", "is_active")


class AuditActorMiddleware:
    """Remember the request so permission changes made while serving it are attributed to its user.

    ``access.pii.current_user_sees_personal_data`` reads it too (admin columns have no request at hand).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


@contextmanager
def acting_as(user):
    """Attribute permission changes made inside the block to ``user`` (for commands and tests)."""

    class _Request:
        pass

    request = _Request()
    request.user = user
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_actor():
    request = _current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def _record(*, target_user=None, target_group=None, field: str, before, after) -> None:
    from .models import PermissionChange

    if before == after:
        return
    actor = current_actor()
    PermissionChange.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        target_user=target_user,
        target_group=target_group,
        target_name=target_user.get_username() if target_user is not None else target_group.name,
        field=field,
        before=before,
        after=after,
    )


# --- many-to-many: user.groups, user.user_permissions, group.permissions ------------------------------------


def _permission_names(permissions) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type"))


def _relations():
    """through model -> (owner model, field name, how to read one owner's current value)."""
    User = get_user_model()
    return {
        User.groups.through: (User, "groups", lambda user: sorted(user.groups.values_list("name", flat=True))),
        User.user_permissions.through: (
            User,
            "user_permissions",
            lambda user: _permission_names(user.user_permissions.all()),
        ),
        Group.permissions.through: (Group, "permissions", lambda group: _permission_names(group.permissions.all())),
    }


def _affected_owners(owner_model, field: str, instance, reverse: bool, pk_set):
    """The owners (users or groups) whose value changes, whichever side the change was made from."""
    if not reverse:
        return [instance]
    if pk_set is None:  # reverse clear: every owner currently related to ``instance``
        return list(owner_model.objects.filter(**{field: instance}))
    return list(owner_model.objects.filter(pk__in=pk_set))


def _on_m2m_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    relation = _relations().get(sender)
    if relation is None:
        return
    owner_model, field, read = relation
    if action in ("pre_add", "pre_remove", "pre_clear"):
        owners = _affected_owners(owner_model, field, instance, reverse, pk_set)
        instance._access_audit_before = [(owner, read(owner)) for owner in owners]
    elif action in ("post_add", "post_remove", "post_clear"):
        for owner, before in getattr(instance, "_access_audit_before", []):
            after = read(owner)
            kind = {"target_user": owner} if owner_model is not Group else {"target_group": owner}
            _record(**kind, field=field, before=before, after=after)
        instance.__dict__.pop("_access_audit_before", None)


# --- flags: is_staff, is_superuser, is_active -----------------------------------------------------------------


def _on_user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw:
        return
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        instance._access_audit_flags = None  # e.g. last_login on every login: no flag can change
        return
    if instance.pk is None:
        instance._access_audit_flags = {}
        return
    instance._access_audit_flags = sender.objects.filter(pk=instance.pk).values(*FLAGS).first() or {}


def _on_user_post_save(sender, instance, created, raw=False, **kwargs) -> None:
    before_flags = instance.__dict__.pop("_access_audit_flags", None)
    if raw or before_flags is None:
        return
    for flag in FLAGS:
        after = getattr(instance, flag)
        if created or not before_flags:
            # a new user: worth a row only when it starts with a privilege (is_active is the default)
            if flag != "is_active" and after:
                _record(target_user=instance, field=flag, before=None, after=after)
            continue
        _record(target_user=instance, field=flag, before=before_flags[flag], after=after)


def connect() -> None:
    User = get_user_model()
    m2m_changed.connect(_on_m2m_changed, dispatch_uid="access.audit.m2m")
    pre_save.connect(_on_user_pre_save, sender=User, dispatch_uid="access.audit.user_pre_save")
    post_save.connect(_on_user_post_save, sender=User, dispatch_uid="access.audit.user_post_save")

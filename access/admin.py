from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from .models import APIKey, PermissionChange
from .services import api_key_create, api_key_revoke


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "scopes", "expires_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix", "user__username"]
    autocomplete_fields = ["user"]
    readonly_fields = ["prefix", "hashed_secret", "last_used_at", "created_at"]
    fields = [
        "name",
        "user",
        "scopes",
        "expires_at",
        "revoked",
        "prefix",
        "hashed_secret",
        "last_used_at",
        "created_at",
    ]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, plain = api_key_create(name=obj.name, user=obj.user, scopes=obj.scopes or [], expires_at=obj.expires_at)
        obj.pk, obj.prefix, obj.hashed_secret = key.pk, key.prefix, key.hashed_secret
        obj._state.adding = False
        messages.warning(request, f"Copy this key now, it is not stored and will not be shown again: {plain}")

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)


class _ReadOnly:
    """Audit rows are written by access.audit only: nobody adds, edits or deletes them in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


HISTORY_FIELDS = ["changed_at", "actor_name", "field", "added_items", "removed_items", "before", "after"]


class _HistoryColumns:
    @admin.display(description="added")
    def added_items(self, obj):
        return ", ".join(map(str, obj.added)) or "-"

    @admin.display(description="removed")
    def removed_items(self, obj):
        return ", ".join(map(str, obj.removed)) or "-"


@admin.register(PermissionChange)
class PermissionChangeAdmin(_ReadOnly, _HistoryColumns, admin.ModelAdmin):
    list_display = [
        "changed_at",
        "actor_name",
        "target_name",
        "field",
        "added_items",
        "removed_items",
        "before",
        "after",
    ]
    list_filter = ["field", "changed_at"]
    search_fields = ["target_name", "actor_name"]
    date_hierarchy = "changed_at"
    fields = ["changed_at", "actor", "actor_name", "target_user", "target_group", "target_name", *HISTORY_FIELDS[2:]]
    readonly_fields = fields


class UserPermissionHistory(_ReadOnly, _HistoryColumns, admin.TabularInline):
    model = PermissionChange
    fk_name = "target_user"
    fields = HISTORY_FIELDS
    readonly_fields = HISTORY_FIELDS
    extra = 0
    verbose_name_plural = "permission history"


class GroupPermissionHistory(UserPermissionHistory):
    fk_name = "target_group"


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin with the user's permission history (groups, permissions, staff/superuser/active)."""

    inlines = [*UserAdmin.inlines, UserPermissionHistory]


@admin.register(Group)
class AuditedGroupAdmin(GroupAdmin):
    inlines = [*GroupAdmin.inlines, GroupPermissionHistory]

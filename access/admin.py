from django.contrib import admin, messages

from .models import APIKey
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

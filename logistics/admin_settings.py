"""Admin page of the store's delivery settings (one row): the accepted share of late deliveries."""

from django.contrib import admin

from .models import DeliverySettings


@admin.register(DeliverySettings)
class DeliverySettingsAdmin(admin.ModelAdmin):
    """A single row: it can be added while none exists, then only changed (never deleted)."""

    list_display = ["__str__", "target_late_share", "updated_by", "updated_at"]
    fields = ["target_late_share", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not DeliverySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

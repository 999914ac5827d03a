"""Admin page of the store's delivery settings (one row): the accepted share of late deliveries."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from .models import DeliverySettings


@admin.register(DeliverySettings)
class DeliverySettingsAdmin(admin.ModelAdmin):
    """A single editable row; the list goes straight to it (created with the defaults on first visit)."""

    fields = ["target_late_share", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        row = DeliverySettings.current()
        return HttpResponseRedirect(reverse("admin:logistics_deliverysettings_change", args=[row.pk]))

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

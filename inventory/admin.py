"""Admin of inventory. The stock ledger is read-only; stock changes through "adjust stock" and CSV counts."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from import_export import fields, resources
from import_export.admin import ExportMixin

from .models import (
    Allocation,
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesObservation,
    ServiceLevelTarget,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierProduct,
)
from .services import StockError, stock_adjust, stock_count, stock_import_csv


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city", "state", "is_active"]
    list_filter = ["kind", "is_active", "state"]
    search_fields = ["code", "name", "city"]


class StockLevelResource(resources.ModelResource):
    """Export columns of stock levels (import goes through the ledger, see ``import_counts``)."""

    sku = fields.Field(attribute="product__sku", column_name="sku")
    location = fields.Field(attribute="location__code", column_name="location")
    available = fields.Field(attribute="available", column_name="available")

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "available", "updated_at"]
        export_order = fields


class StockAdjustForm(forms.Form):
    """Change the on-hand stock of the selected levels by a delta, or set it to a counted figure."""

    MODE_CHOICES = [("delta", "Adjust on hand by a delta"), ("count", "Set on hand to a counted figure")]

    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="delta")
    quantity = forms.IntegerField(help_text="The delta (may be negative) or the counted quantity (0 or more).")
    note = forms.CharField(max_length=100, required=False, help_text="Why (kept as the movement's reference).")
    # A fresh nonce per form: a double-submitted form reuses it, so the ledger applies the change once.
    nonce = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "count" and data.get("quantity") is not None and data["quantity"] < 0:
            self.add_error("quantity", "a counted quantity cannot be negative")
        if data.get("mode") == "delta" and data.get("quantity") == 0:
            self.add_error("quantity", "the delta must not be zero")
        return data


class StockImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with columns sku, location and counted (a count) or delta (adjustment).")


@admin.register(StockLevel)
class StockLevelAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [StockLevelResource]
    list_display = ["product", "location", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["location"]
    search_fields = ["product__sku", "product__name", "location__code"]
    list_select_related = ["product", "location"]
    readonly_fields = ["product", "location", "on_hand", "reserved", "updated_at"]
    actions = ["adjust_stock"]
    change_list_template = "admin/inventory/stocklevel/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "import-counts/",
                self.admin_site.admin_view(self.import_counts_view),
                name="inventory_stocklevel_import_counts",
            )
        ] + super().get_urls()

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available

    @admin.action(description="Adjust stock of the selected levels", permissions=["change"])
    def adjust_stock(self, request, queryset):
        if "apply" in request.POST:
            form = StockAdjustForm(request.POST)
            if form.is_valid():
                self._apply_adjustment(request, queryset, form.cleaned_data)
                return None
        else:
            form = StockAdjustForm(initial={"nonce": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "form": form,
            "levels": queryset.select_related("product", "location"),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust.html", context)

    def _apply_adjustment(self, request, queryset, data):
        done = 0
        for level in queryset.select_related("product", "location").order_by("pk"):
            common = dict(
                product=level.product,
                location=level.location,
                key=f"admin-adjust:{data['nonce']}:{level.pk}",
                reference=data["note"] or f"admin adjustment by {request.user}",
                user=request.user,
            )
            try:
                if data["mode"] == "count":
                    stock_count(counted=data["quantity"], **common)
                else:
                    stock_adjust(delta=data["quantity"], **common)
            except (StockError, ValueError) as error:
                self.message_user(request, f"{level.product.sku} at {level.location.code}: {error}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(request, f"Adjusted {done} stock level(s) through the ledger.", messages.SUCCESS)

    def import_counts_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = StockImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    form.add_error("file", "the file is not UTF-8 text")
                else:
                    report = stock_import_csv(text=text, source_name=upload.name, user=request.user)
                    level = messages.WARNING if report.rejected else messages.SUCCESS
                    self.message_user(
                        request,
                        f"{report.rows_read} rows read: {report.applied} applied, {report.unchanged} already "
                        f"applied, {len(report.rejected)} rejected.",
                        level,
                    )
                    if not report.rejected:
                        return HttpResponseRedirect(reverse("admin:inventory_stocklevel_changelist"))
        else:
            form = StockImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import stock counts",
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/import_counts.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The stock ledger, read-only: corrections are new movements (adjust stock on the levels)."""

    list_display = ["created_at", "product", "location", "reason", "on_hand_delta", "reserved_delta", "reference"]
    list_display += ["created_by"]
    list_filter = ["reason", "location"]
    search_fields = ["product__sku", "location__code", "reference", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["product", "location", "created_by"]


class SupplierProductInline(admin.TabularInline):
    model = SupplierProduct
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "lead_time_days", "lead_time_std_days", "min_order_value"]
    search_fields = ["code", "name"]
    inlines = [SupplierProductInline]


@admin.register(SupplierProduct)
class SupplierProductAdmin(admin.ModelAdmin):
    list_display = ["supplier", "product", "pack_size", "min_order_qty", "unit_cost", "is_preferred"]
    list_filter = ["is_preferred", "supplier"]
    search_fields = ["supplier__code", "supplier__name", "product__sku"]
    autocomplete_fields = ["supplier", "product"]
    list_select_related = ["supplier", "product"]


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    autocomplete_fields = ["product"]
    fields = ["product", "quantity", "unit_cost", "quantity_received", "reason"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "supplier", "location", "status", "expected_at", "created_by", "created_at"]
    list_filter = ["status", "supplier", "location"]
    search_fields = ["number", "supplier__code", "supplier__name", "notes"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["supplier", "location"]
    list_select_related = ["supplier", "location", "created_by"]
    readonly_fields = ["created_by", "approved_by", "approved_at", "created_at", "updated_at"]
    inlines = [PurchaseOrderLineInline]

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):
    list_display = ["purchase_order", "product", "quantity", "unit_cost", "quantity_received"]
    search_fields = ["purchase_order__number", "product__sku"]
    autocomplete_fields = ["purchase_order", "product"]
    list_select_related = ["purchase_order", "product"]


@admin.register(SalesObservation)
class SalesObservationAdmin(admin.ModelAdmin):
    list_display = ["product", "location", "period_start", "period_days", "units", "price", "on_display"]
    list_display += ["on_feature", "on_discount"]
    list_filter = ["on_display", "on_feature", "on_discount", "location"]
    search_fields = ["product__sku", "location__code"]
    date_hierarchy = "period_start"
    autocomplete_fields = ["product", "location"]
    list_select_related = ["product", "location"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Allocations are written by the allocation service (with their ledger reservations), only read here."""

    list_display = ["order_line", "location", "quantity", "status", "created_at"]
    list_filter = ["status", "location"]
    search_fields = ["order_line__order__external_id", "location__code"]
    list_select_related = ["order_line", "location"]


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(admin.ModelAdmin):
    list_display = ["category", "target"]
    search_fields = ["category__name", "category__name_en"]
    autocomplete_fields = ["category"]
    list_select_related = ["category"]


from . import admin_forecast  # noqa: E402,F401  - forecasting and replenishment admin

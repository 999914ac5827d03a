"""Admin of demand forecasts and replenishment (imported at the end of inventory/admin.py).

Actions: retrain the demand model (job) from products or locations, compute replenishment suggestions,
turn suggestions into draft purchase orders, and (on purchase orders) approve drafts as a planner.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from catalog.models import Product
from ecomops.jobs import job_start

from .models import DemandForecast, ForecastSeriesMetric, Location, PurchaseOrder, ReplenishmentSuggestion
from .replenishment import (
    purchase_orders_approve,
    purchase_orders_create_from_suggestions,
)


def _start_training(modeladmin, request, scope: str) -> None:
    job = job_start(
        kind="train:demand",
        parameters={"as_of": timezone.now().date().isoformat(), "horizon": 28},
        requested_by=request.user,
        requested_via="admin",
    )
    modeladmin.message_user(
        request, f"Demand forecast job {job.pk} queued ({scope}); every series is retrained together.", messages.INFO
    )


@admin.action(description="Retrain the demand forecast", permissions=["view"])
def retrain_demand_forecast(modeladmin, request, queryset):
    _start_training(modeladmin, request, f"asked from {queryset.count()} selected")


@admin.register(DemandForecast)
class DemandForecastAdmin(admin.ModelAdmin):
    list_display = ["product", "location", "period_start", "period_days", "p10", "p50", "p90", "method", "version"]
    list_filter = ["model_version__status", "period_days", "method", "location", "as_of"]
    search_fields = ["product__sku", "product__name", "location__code"]
    date_hierarchy = "period_start"
    list_select_related = ["product", "location", "model_version"]
    readonly_fields = [f.name for f in DemandForecast._meta.fields]
    actions = [retrain_demand_forecast]

    @admin.display(description="version", ordering="model_version__version")
    def version(self, obj):
        return f"v{obj.model_version.version} ({obj.model_version.status})"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ForecastSeriesMetric)
class ForecastSeriesMetricAdmin(admin.ModelAdmin):
    list_display = ["product", "location", "model_version", "method", "mase", "wape", "bias", "coverage"]
    list_filter = ["method", "model_version"]
    search_fields = ["product__sku", "location__code"]
    list_select_related = ["product", "location", "model_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description="Create draft purchase orders from the selected suggestions", permissions=["change"])
def create_purchase_orders(modeladmin, request, queryset):
    result = purchase_orders_create_from_suggestions(suggestions=queryset, user=request.user)
    if result.orders:
        numbers = ", ".join(o.number for o in result.orders)
        modeladmin.message_user(request, f"{len(result.orders)} draft purchase order(s): {numbers}", messages.SUCCESS)
    for suggestion, why in result.skipped:
        modeladmin.message_user(
            request, f"{suggestion.product} @ {suggestion.location}: skipped, {why}", messages.WARNING
        )


@admin.action(description="Dismiss the selected suggestions", permissions=["change"])
def dismiss_suggestions(modeladmin, request, queryset):
    count = queryset.filter(status=ReplenishmentSuggestion.Status.OPEN).update(
        status=ReplenishmentSuggestion.Status.DISMISSED
    )
    modeladmin.message_user(request, f"{count} suggestion(s) dismissed", messages.INFO)


@admin.register(ReplenishmentSuggestion)
class ReplenishmentSuggestionAdmin(admin.ModelAdmin):
    list_display = [
        "product", "location", "as_of", "status", "quantity", "on_hand", "on_order", "reorder_point",
        "order_up_to", "safety_stock", "days_of_cover", "stockout_risk", "supplier",
    ]  # fmt: skip
    list_filter = ["status", "as_of", "location", "supplier"]
    search_fields = ["product__sku", "product__name", "location__code"]
    list_select_related = ["product", "location", "supplier"]
    readonly_fields = [f.name for f in ReplenishmentSuggestion._meta.fields]
    actions = [create_purchase_orders, dismiss_suggestions, "compute_suggestions"]

    @admin.action(description="Recompute suggestions from the active forecast (all products)", permissions=["view"])
    def compute_suggestions(self, request, queryset):
        # a job, not this request: a marketplace's 18k series take about 17 s; the job page follows it
        job = job_start(kind="plan:replenishment", requested_by=request.user, requested_via="admin")
        url = reverse("admin:ecomops_jobrun_change", args=[job.pk])
        self.message_user(
            request,
            format_html('Recomputing the suggestions as <a href="{}">job {}</a>.', url, job.pk),
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False


@admin.action(description="Approve the selected draft purchase orders", permissions=["change"])
def approve_purchase_orders(modeladmin, request, queryset):
    count = purchase_orders_approve(orders=queryset, user=request.user)
    skipped = queryset.count() - count
    modeladmin.message_user(request, f"{count} purchase order(s) approved", messages.SUCCESS)
    if skipped > 0:
        modeladmin.message_user(request, f"{skipped} not in draft: left as they were", messages.WARNING)


def _add_action(model, action) -> None:
    """Add an action to another admin class of this app without editing it."""
    model_admin = admin.site._registry.get(model)  # noqa: SLF001 - the site's public registry has no getter
    if model_admin is None:
        return
    actions = list(model_admin.actions or [])
    if action not in actions:
        model_admin.actions = [*actions, action]


_add_action(PurchaseOrder, approve_purchase_orders)
_add_action(Product, retrain_demand_forecast)
_add_action(Location, retrain_demand_forecast)

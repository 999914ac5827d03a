"""Admin of logistics: carriers, geography, shipments, delivery predictions ("likely late"), order risk, routes."""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from access.scoping import CustomerScopedAdmin
from ecomops.admin import ModelVersionColumnMixin, ModelVersionListFilter
from ecomops.jobs import job_start
from inventory.models import Location

from .models import (
    LIKELY_LATE_RISK,
    Carrier,
    DeliveryPrediction,
    OrderRisk,
    RoutePlan,
    RouteStop,
    Shipment,
    TrackingEvent,
    ZipArea,
)
from .routing import DEFAULT_SERVICE_MINUTES, DEFAULT_SHIFT_END, DEFAULT_SHIFT_START, DEFAULT_SPEED_KMH


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "created_at"]
    search_fields = ["code", "name"]
    ordering = ["code"]


@admin.register(ZipArea)
class ZipAreaAdmin(admin.ModelAdmin):
    list_display = ["prefix", "city", "state", "latitude", "longitude", "points"]
    list_filter = ["state"]
    search_fields = ["prefix", "city"]
    ordering = ["prefix"]


class TrackingEventInline(admin.TabularInline):
    model = TrackingEvent
    extra = 0
    fields = ["occurred_at", "status", "location", "description"]


@admin.register(Shipment)
class ShipmentAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    list_display = ["pk", "order", "carrier", "status", "shipped_at", "delivered_at", "estimated_delivery_date"]
    list_filter = ["status", "carrier"]
    search_fields = ["tracking_number", "order__external_id"]
    autocomplete_fields = ["order", "carrier"]
    list_select_related = ["order", "carrier"]
    date_hierarchy = "created_at"
    inlines = [TrackingEventInline]
    ordering = ["-created_at", "-pk"]


@admin.register(TrackingEvent)
class TrackingEventAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    list_display = ["shipment", "occurred_at", "status", "location"]
    list_filter = ["status"]
    search_fields = ["shipment__tracking_number", "shipment__order__external_id", "location"]
    autocomplete_fields = ["shipment"]
    list_select_related = ["shipment__order", "shipment__carrier"]
    ordering = ["-occurred_at", "-pk"]


class LikelyLateFilter(admin.SimpleListFilter):
    title = "likely late"
    parameter_name = "likely_late"

    def lookups(self, request, model_admin):
        return [("yes", f"Likely late (risk ≥ {LIKELY_LATE_RISK:.0%}, not delivered)"), ("no", "On track")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(late_risk__gte=LIKELY_LATE_RISK, order__delivered_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(late_risk__lt=LIKELY_LATE_RISK)
        return queryset


@admin.register(DeliveryPrediction)
class DeliveryPredictionAdmin(ModelVersionColumnMixin, CustomerScopedAdmin, admin.ModelAdmin):
    """Predictions with the riskiest first; the "likely late" filter is the operators' worklist."""

    list_display = ["order", "purchased", "eta_date", "promise_date", "risk", "model_version", "as_of"]
    list_filter = [LikelyLateFilter, "as_of", ("model_version", ModelVersionListFilter)]
    search_fields = ["order__external_id"]
    list_select_related = ["order", "model_version__registered_model"]
    readonly_fields = [f.name for f in DeliveryPrediction._meta.fields]
    ordering = ["-late_risk", "pk"]
    actions = ["rescore_open_orders", "predict_as_of_today"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="purchased", ordering="order__purchased_at")
    def purchased(self, obj):
        return obj.order.purchased_at

    @admin.display(description="late risk", ordering="late_risk")
    def risk(self, obj):
        colour = "#ba2121" if obj.late_risk >= LIKELY_LATE_RISK else "inherit"
        return format_html('<span style="color:{}">{}</span>', colour, f"{obj.late_risk:.0%}")

    @admin.action(description="Refresh late risk of open orders (job score:delivery)", permissions=["view"])
    def rescore_open_orders(self, request, queryset):
        job = job_start(kind="score:delivery", requested_by=request.user, requested_via="admin")
        self.message_user(request, f"queued job #{job.pk} score:delivery", messages.SUCCESS)

    @admin.action(description="Retrain and predict as of today (job train:delivery)", permissions=["view"])
    def predict_as_of_today(self, request, queryset):
        as_of: date = timezone.now().date()
        job = job_start(
            kind="train:delivery",
            parameters={"as_of": as_of.isoformat()},
            requested_by=request.user,
            requested_via="admin",
        )
        self.message_user(request, f"queued job #{job.pk} train:delivery as of {as_of}", messages.SUCCESS)


@admin.register(OrderRisk)
class OrderRiskAdmin(CustomerScopedAdmin, admin.ModelAdmin):
    """Unusual new orders with the reasons, for review before allocation."""

    list_display = ["order", "score", "status", "reason_list", "created_at"]
    list_filter = ["status"]
    search_fields = ["order__external_id"]
    list_select_related = ["order"]
    readonly_fields = ["order", "score", "reasons", "reviewed_by", "reviewed_at"]
    ordering = ["-score", "pk"]
    actions = ["clear_and_allocate", "hold"]

    @admin.display(description="reasons")
    def reason_list(self, obj):
        return "; ".join(obj.reasons) if obj.reasons else "—"

    @admin.action(description="Clear and allocate the orders", permissions=["change"])
    def clear_and_allocate(self, request, queryset):
        from .services import order_risk_clear_and_allocate

        done, failed = order_risk_clear_and_allocate(risks=queryset, user=request.user)
        self.message_user(request, f"{done} orders allocated", messages.SUCCESS)
        for message in failed:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Hold the orders", permissions=["change"])
    def hold(self, request, queryset):
        updated = queryset.update(status=OrderRisk.Status.HELD, reviewed_by=request.user, reviewed_at=timezone.now())
        self.message_user(request, f"{updated} orders held", messages.SUCCESS)


class PlanRoutesForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True).order_by("code"))
    date = forms.DateField(help_text="YYYY-MM-DD")
    vehicle_capacity = forms.IntegerField(min_value=1, help_text="grams per vehicle")
    vehicles = forms.IntegerField(min_value=1, max_value=500)
    seconds = forms.FloatField(min_value=0.1, max_value=60, initial=2.0, help_text="solver time limit")
    # Used only when some shipment of the day has a delivery time window; blank = the default.
    shift_start = forms.TimeField(required=False, initial=DEFAULT_SHIFT_START, help_text="HH:MM, with time windows")
    shift_end = forms.TimeField(required=False, initial=DEFAULT_SHIFT_END, help_text="HH:MM")
    speed_kmh = forms.FloatField(required=False, min_value=1, max_value=200, initial=DEFAULT_SPEED_KMH)
    service_minutes = forms.IntegerField(required=False, min_value=0, max_value=240, initial=DEFAULT_SERVICE_MINUTES)

    def clean(self):
        data = super().clean()
        for name, default in (
            ("shift_start", DEFAULT_SHIFT_START),
            ("shift_end", DEFAULT_SHIFT_END),
            ("speed_kmh", DEFAULT_SPEED_KMH),
            ("service_minutes", DEFAULT_SERVICE_MINUTES),
        ):
            if data.get(name) is None and name not in self.errors:
                data[name] = default
        times_valid = "shift_start" not in self.errors and "shift_end" not in self.errors
        if times_valid and data["shift_end"] <= data["shift_start"]:
            self.add_error("shift_end", "the shift must end after it starts")
        return data


class RouteStopInline(admin.TabularInline):
    model = RouteStop
    extra = 0
    fields = ["route_number", "sequence", "shipment", "load", "distance_from_previous_km", "latitude", "longitude"]
    readonly_fields = fields
    can_delete = False


@admin.register(RoutePlan)
class RoutePlanAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "location",
        "date",
        "routes_used",
        "total_distance_km",
        "is_feasible",
        "runtime_seconds",
        "map_link",
    ]
    list_filter = ["date", "location", "is_feasible"]
    list_select_related = ["location"]
    readonly_fields = ["total_distance_km", "routes_used", "is_feasible", "solver", "runtime_seconds", "unplanned"]
    inlines = [RouteStopInline]
    ordering = ["-date", "-pk"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="map / CSV")
    def map_link(self, obj):
        from django.urls import reverse

        url = reverse("logistics_reports:route_plan", args=[obj.pk])
        return format_html('<a href="{}">map</a> · <a href="{}?format=csv">CSV</a>', url, url)

    def get_urls(self):
        from django.urls import path

        custom = [path("plan/", self.admin_site.admin_view(self.plan_view), name="logistics_routeplan_plan")]
        return custom + super().get_urls()

    def plan_view(self, request):
        """A form (location, date, capacity, vehicles, seconds) that calls ``route_plan_create``."""
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.template.response import TemplateResponse
        from django.urls import reverse

        from .routing import RoutingError, route_plan_create

        if not request.user.has_perm("logistics.add_routeplan"):
            raise PermissionDenied
        form = PlanRoutesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                plan = route_plan_create(
                    location=data["location"],
                    day=data["date"],
                    vehicle_capacity=data["vehicle_capacity"],
                    vehicles=data["vehicles"],
                    seconds=data["seconds"],
                    shift_start=data["shift_start"],
                    shift_end=data["shift_end"],
                    speed_kmh=data["speed_kmh"],
                    service_minutes=data["service_minutes"],
                )
            except (RoutingError, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"planned {plan}", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:logistics_routeplan_change", args=[plan.pk]))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Plan routes",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "logistics/plan_routes.html", context)


from .admin_settings import DeliverySettingsAdmin  # noqa: E402,F401  (registers the delivery settings page)

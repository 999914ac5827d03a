"""Admin of pricing: prices and competitor prices (CSV import/export), promotions, rules, elasticities,
recommendations with bulk approve / reject, competitor alerts and the price-change audit."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from import_export import fields, resources
from import_export.admin import ImportExportModelAdmin
from import_export.widgets import ForeignKeyWidget

from catalog.models import Product
from ecomops.admin import ModelVersionColumnMixin, ModelVersionListFilter
from ecomops.jobs import job_start
from inventory.models import Location

from . import services
from .models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    PricingRule,
    Promotion,
)


class PriceHistoryResource(resources.ModelResource):
    """CSV of prices: ``sku, location, price, effective_from, effective_to, note``; matched on sku + location + date.
    An empty location means every location. Each imported row is audited."""

    product = fields.Field(attribute="product", column_name="sku", widget=ForeignKeyWidget(Product, "sku"))
    location = fields.Field(attribute="location", column_name="location", widget=ForeignKeyWidget(Location, "code"))

    class Meta:
        model = PriceHistory
        import_id_fields = ["product", "location", "effective_from"]
        fields = ["product", "location", "price", "effective_from", "effective_to", "source", "note"]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_save_instance(self, instance, row, **kwargs):
        user = kwargs.get("user")
        instance.source = instance.source or PriceHistory.Source.IMPORT
        if user is not None and getattr(user, "is_authenticated", False):
            instance.created_by = user

    def after_save_instance(self, instance, row, **kwargs):
        if not kwargs.get("dry_run"):
            services.price_change_audit_record(price_row=instance, user=kwargs.get("user"), reason="CSV import")


class CompetitorPriceResource(resources.ModelResource):
    """CSV of competitor prices: ``sku, competitor, price, observed_at, url``; matched on sku + competitor + time.
    Each saved row is checked against our price and may open an alert."""

    product = fields.Field(attribute="product", column_name="sku", widget=ForeignKeyWidget(Product, "sku"))

    class Meta:
        model = CompetitorPrice
        import_id_fields = ["product", "competitor", "observed_at"]
        fields = ["product", "competitor", "price", "observed_at", "url", "source"]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def after_save_instance(self, instance, row, **kwargs):
        if not kwargs.get("dry_run"):
            services.competitor_alert_check(competitor_price=instance)


@admin.register(PriceHistory)
class PriceHistoryAdmin(ImportExportModelAdmin):
    resource_classes = [PriceHistoryResource]
    list_display = ["product", "location", "price", "effective_from", "effective_to", "source", "created_by"]
    list_filter = ["source", "effective_from"]
    search_fields = ["product__sku", "product__name", "location__code", "note"]
    autocomplete_fields = ["product"]
    raw_id_fields = ["location", "created_by"]
    list_select_related = ["product", "location", "created_by"]
    date_hierarchy = "effective_from"

    def save_model(self, request, obj, form, change):
        # through the service so that every manual change is audited
        obj.pk = services.price_plan(
            product=obj.product,
            location=obj.location,
            price=obj.price,
            effective_from=obj.effective_from,
            user=request.user,
            reason=obj.note or "admin",
            source=PriceHistory.Source.MANUAL,
        ).pk


@admin.register(Promotion)
class PromotionAdmin(ImportExportModelAdmin):
    list_display = ["product", "location", "kind", "starts_on", "ends_on", "discount_pct"]
    list_filter = ["kind", "starts_on"]
    search_fields = ["product__sku", "product__name", "location__code"]
    autocomplete_fields = ["product"]
    raw_id_fields = ["location"]
    list_select_related = ["product", "location"]


@admin.register(CompetitorPrice)
class CompetitorPriceAdmin(ImportExportModelAdmin):
    resource_classes = [CompetitorPriceResource]
    list_display = ["product", "competitor", "price", "observed_at", "source"]
    list_filter = ["competitor", "source", "observed_at"]
    search_fields = ["product__sku", "product__name", "competitor"]
    autocomplete_fields = ["product"]
    list_select_related = ["product"]
    date_hierarchy = "observed_at"


@admin.register(PricingRule)
class PricingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "objective",
        "min_margin",
        "max_step",
        "price_ending",
        "competitor_below",
        "competitor_above",
        "alert_threshold",
        "overstock_days",
        "scarce_days",
        "assumed_cost_share",
    ]
    list_filter = ["objective"]
    search_fields = ["category__name", "category__name_en"]
    autocomplete_fields = ["category"]
    list_select_related = ["category"]
    actions = ["train_and_recommend"]

    @admin.action(description="Train the price model and recommend prices as of today (job)", permissions=["change"])
    def train_and_recommend(self, request, queryset):
        with transaction.atomic():
            job = job_start(
                kind="score:price_response",
                parameters={"as_of": timezone.localdate().isoformat()},
                requested_by=request.user,
                requested_via="admin",
            )
        self.message_user(request, f"queued job {job.pk} (score:price_response)", messages.SUCCESS)


class FlaggedFilter(admin.SimpleListFilter):
    title = "plausibility"
    parameter_name = "plausible"

    def lookups(self, request, model_admin):
        return [("yes", "plausible"), ("no", "flagged")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(flags=[])
        if self.value() == "no":
            return queryset.exclude(flags=[])
        return queryset


@admin.register(ElasticityEstimate)
class ElasticityEstimateAdmin(ModelVersionColumnMixin, admin.ModelAdmin):
    list_display = ["product", "location", "elasticity", "low", "high", "n_obs", "flags", "model_version"]
    list_filter = [FlaggedFilter, ("model_version", ModelVersionListFilter)]
    search_fields = ["product__sku", "product__name", "location__code"]
    list_select_related = ["product", "location", "model_version__registered_model"]
    readonly_fields = [f.name for f in ElasticityEstimate._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PriceRecommendation)
class PriceRecommendationAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "location",
        "current_price",
        "recommended_price",
        "change",
        "elasticity",
        "expected_profit_current",
        "expected_profit",
        "cost_assumed",
        "binding_rule",
        "status",
        "decided_by",
        "as_of",
    ]
    list_filter = ["status", "cost_assumed", "binding_rule", "as_of"]
    search_fields = ["product__sku", "product__name", "location__code"]
    list_select_related = ["product", "location", "decided_by"]
    readonly_fields = [f.name for f in PriceRecommendation._meta.fields]
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="change %")
    def change(self, obj) -> str:
        return f"{obj.change_pct:+.1f}%"

    def _decide(self, request, queryset, decide, verb):
        done, refused = 0, []
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                decide(recommendation_id=pk, user=request.user)
                done += 1
            except services.PricingError as error:
                refused.append(str(error))
        self.message_user(request, f"{verb} {done} recommendation(s)", messages.SUCCESS if done else messages.WARNING)
        for message in refused[:10]:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Approve and apply selected recommendations", permissions=["change"])
    def approve(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda **kw: services.price_recommendation_approve(**kw, reason="approved in the admin"),
            "approved",
        )

    @admin.action(description="Reject selected recommendations", permissions=["change"])
    def reject(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda **kw: services.price_recommendation_reject(**kw, reason="rejected in the admin"),
            "rejected",
        )


@admin.register(CompetitorPriceAlert)
class CompetitorPriceAlertAdmin(admin.ModelAdmin):
    list_display = ["product", "direction", "gap", "our_price", "competitor_price", "threshold", "status", "created_at"]
    list_filter = ["status", "direction"]
    search_fields = ["product__sku", "product__name", "competitor_price__competitor"]
    list_select_related = ["product", "competitor_price"]
    readonly_fields = [f.name for f in CompetitorPriceAlert._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset):
        count = services.competitor_alert_acknowledge(alert_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"acknowledged {count} alert(s)", messages.SUCCESS)


@admin.register(PriceChangeAudit)
class PriceChangeAuditAdmin(admin.ModelAdmin):
    list_display = [
        "changed_at",
        "product",
        "location",
        "action",
        "from_price",
        "to_price",
        "effective_from",
        "changed_by",
        "reason",
    ]
    list_filter = ["action", "changed_at"]
    search_fields = ["product__sku", "reason"]
    list_select_related = ["product", "location", "changed_by"]
    readonly_fields = [f.name for f in PriceChangeAudit._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

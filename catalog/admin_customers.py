"""Admin of customer analytics (issue #8), imported at the end of catalog/admin.py.

The customer page gains a read-only "Customer analytics" block (segment, RFM, P(alive), churn risk, CLV,
live-filtered recommendations) and its segment history; segments, scores and audiences get their own
pages. Audiences are created through the ``audience_create`` service, exported as CSV and measured from
the admin; jobs are started from the segment and score lists.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from access.pii import user_sees_personal_data
from catalog import services_customers as svc
from catalog.admin import CustomerAdmin
from catalog.models import (
    CampaignAudience,
    Customer,
    CustomerScore,
    CustomerSegmentSnapshot,
    Product,
    ProductAssociation,
)


class SegmentHistoryInline(admin.TabularInline):
    model = CustomerSegmentSnapshot
    fields = ["as_of", "segment", "recency_days", "frequency", "monetary", "rfm_code"]
    readonly_fields = fields
    ordering = ["-as_of"]
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "segment history"

    def rfm_code(self, obj) -> str:
        return obj.rfm_code


def _start_job(modeladmin, request, kind: str) -> None:
    from ecomops.jobs import job_start

    job = job_start(kind=kind, requested_by=request.user, requested_via="admin")
    url = reverse("admin:ecomops_jobrun_change", args=[job.pk])
    modeladmin.message_user(
        request, format_html('Started <a href="{}">{} #{}</a>.', url, kind, job.pk), messages.SUCCESS
    )


class CustomerWithAnalyticsAdmin(CustomerAdmin):
    """The catalog's customer admin plus the analytics block and segment history."""

    inlines = [*CustomerAdmin.inlines, SegmentHistoryInline]
    list_select_related = ["score"]

    def get_list_display(self, request):
        return [*super().get_list_display(request), "churn_risk_display", "clv_display"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "customer_analytics"]

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "customer_analytics"]
        return [*fields, "customer_analytics"] if obj is not None else fields

    @admin.display(description="churn risk", ordering="score__churn_risk")
    def churn_risk_display(self, customer: Customer) -> str:
        score = getattr(customer, "score", None) if hasattr(customer, "score") else None
        return score.get_churn_risk_display() if score else "-"

    @admin.display(description="CLV 12 m", ordering="score__clv_12m")
    def clv_display(self, customer: Customer) -> str:
        score = getattr(customer, "score", None) if hasattr(customer, "score") else None
        return f"{score.clv_12m:,.2f}" if score else "-"

    @admin.display(description="customer analytics")
    def customer_analytics(self, customer: Customer) -> str:
        if customer is None or customer.pk is None:
            return "-"
        data = svc.customer_analytics(customer=customer)
        recs = svc.customer_recommendations(customer=customer, limit=10)
        products = Product.objects.in_bulk([r.product_id for r in recs])

        def show(value, fmt="{}"):
            return "-" if value is None else fmt.format(value)

        rows = [
            (
                "Segment",
                f"{show(data['segment_label'])} (RFM {show(data['rfm'])}, as of {show(data['segment_as_of'])})",
            ),
            (
                "Recency / frequency / spend",
                f"{show(data['recency_days'])} days / {show(data['frequency'])} orders / {show(data['monetary'])}",
            ),
            ("P(alive)", show(data["probability_alive"], "{:.3f}")),
            ("Churn risk", f"{show(data['churn_risk'])} (propensity {show(data['churn_propensity'], '{:.3f}')})"),
            ("Expected purchases, 90 days", show(data["expected_purchases_90d"], "{:.2f}")),
            ("Expected spend per purchase", show(data["expected_average_spend"])),
            ("CLV, 12 months", f"{show(data['clv_12m'])} (as of {show(data['score_as_of'])})"),
        ]
        table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        rec_items = format_html_join(
            "",
            '<li><a href="{}">{}</a> <small>({}, {})</small></li>',
            (
                (
                    reverse("admin:catalog_product_change", args=[r.product_id]),
                    str(products[r.product_id]),
                    r.reason,
                    f"{r.score:.3g}",
                )
                for r in recs
            ),
        )
        return format_html(
            '<table class="customer-analytics">{}</table><p><strong>Recommendations</strong></p><ol>{}</ol>',
            table,
            rec_items or format_html("<li>{}</li>", "none yet: run train:recommendations"),
        )


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithAnalyticsAdmin)


@admin.register(CustomerSegmentSnapshot)
class CustomerSegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ["customer", "as_of", "segment", "recency_days", "frequency", "monetary", "rfm_code"]
    list_filter = ["as_of", "segment"]
    search_fields = ["customer__external_id"]
    list_select_related = ["customer"]
    date_hierarchy = "as_of"
    actions = ["recompute", "create_audience"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Recompute segments and CLV now (train:customers job)", permissions=["view"])
    def recompute(self, request, queryset):
        _start_job(self, request, "train:customers")

    @admin.action(description="Create a campaign audience from the segment of the selected rows", permissions=["view"])
    def create_audience(self, request, queryset):
        from django.utils import timezone

        pairs = set(queryset.values_list("segment", "as_of"))
        if len(pairs) != 1:
            self.message_user(request, "Select rows of one segment on one date.", messages.ERROR)
            return
        (segment, as_of), today = pairs.pop(), timezone.now().date()
        name = f"{segment} {as_of} ({timezone.now():%Y-%m-%d %H:%M:%S})"
        try:
            audience = svc.audience_create(
                name=name,
                source=CampaignAudience.Source.SEGMENT,
                criterion=segment,
                snapshot_date=as_of,
                campaign_start=today,
                user=request.user,
            )
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        url = reverse("admin:catalog_campaignaudience_change", args=[audience.pk])
        self.message_user(
            request, format_html('Audience <a href="{}">{}</a> created.', url, audience.name), messages.SUCCESS
        )


@admin.register(CustomerScore)
class CustomerScoreAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "as_of",
        "churn_risk",
        "probability_alive",
        "expected_purchases_90d",
        "clv_12m",
        "model_version",
    ]
    list_filter = ["churn_risk", "as_of"]
    search_fields = ["customer__external_id"]
    list_select_related = ["customer", "model_version__registered_model"]
    actions = ["recompute", "retrain_recommendations"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Recompute segments and CLV now (train:customers job)", permissions=["view"])
    def recompute(self, request, queryset):
        _start_job(self, request, "train:customers")

    @admin.action(description="Retrain recommendations now (train:recommendations job)", permissions=["view"])
    def retrain_recommendations(self, request, queryset):
        _start_job(self, request, "train:recommendations")


@admin.register(ProductAssociation)
class ProductAssociationAdmin(admin.ModelAdmin):
    list_display = ["product", "rank", "other", "count", "confidence", "lift"]
    search_fields = ["product__sku", "other__sku"]
    list_select_related = ["product", "other"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AudienceForm(forms.ModelForm):
    criterion = forms.CharField(
        help_text="A segment (" + ", ".join(svc.CustomerSegment.values) + ") or a churn-risk band (low, medium, high)."
    )

    class Meta:
        model = CampaignAudience
        fields = ["name", "source", "criterion", "campaign_start", "campaign_end", "control_fraction", "seed"]


@admin.register(CampaignAudience)
class CampaignAudienceAdmin(admin.ModelAdmin):
    """Add = select customers and keep a control group aside (via ``audience_create``)."""

    form = AudienceForm
    list_display = ["name", "source", "criterion", "snapshot_date", "control_fraction", "campaign_start", "created_at"]
    list_filter = ["source", "criterion"]
    search_fields = ["name"]
    actions = ["export_csv", "measure_effect"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "name",
            "source",
            "criterion",
            "snapshot_date",
            "control_fraction",
            "seed",
            "created_by",
            "member_counts",
            "effect",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return AudienceForm.Meta.fields
        return [*AudienceForm.Meta.fields, "snapshot_date", "created_by", "member_counts", "effect"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["campaign_start", "campaign_end", "updated_at"])
            return
        data = form.cleaned_data
        try:
            created = svc.audience_create(
                name=data["name"],
                source=data["source"],
                criterion=data["criterion"],
                campaign_start=data["campaign_start"],
                control_fraction=data["control_fraction"],
                seed=data["seed"],
                user=request.user,
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = created.pk
        obj.refresh_from_db()
        if data.get("campaign_end"):
            obj.campaign_end = data["campaign_end"]
            obj.save(update_fields=["campaign_end", "updated_at"])

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.get_full_path())

    @admin.display(description="members")
    def member_counts(self, audience: CampaignAudience) -> str:
        control = audience.members.filter(is_control=True).count()
        return f"{audience.members.count() - control} treatment, {control} control"

    @admin.display(description="effect so far")
    def effect(self, audience: CampaignAudience) -> str:
        try:
            e = svc.audience_effect(audience=audience)
        except ValueError as exc:
            return str(exc)
        t, c = e.treatment, e.control
        return format_html(
            "treatment: {} of {} bought ({} orders, {} revenue); control: {} of {} ({} orders, {})<br>"
            "conversion lift {} (95 % CI {} .. {}); revenue per customer {} (95 % CI {} .. {})",
            t.buyers,
            t.customers,
            t.orders,
            f"{t.revenue:.2f}",
            c.buyers,
            c.customers,
            c.orders,
            f"{c.revenue:.2f}",
            f"{e.conversion_lift:+.4f}",
            f"{e.conversion_ci[0]:+.4f}",
            f"{e.conversion_ci[1]:+.4f}",
            f"{e.revenue_lift_per_customer:+.2f}",
            f"{e.revenue_ci[0]:+.2f}",
            f"{e.revenue_ci[1]:+.2f}",
        )

    @admin.action(description="Export the audience as CSV (control group left out)", permissions=["view"])
    def export_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one audience to export.", messages.ERROR)
            return None
        audience = queryset.get()
        text = svc.audience_csv(audience=audience, personal_data=user_sees_personal_data(request.user))
        response = HttpResponse(text, content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}.csv"'
        return response

    @admin.action(description="Measure the campaign effect (treatment vs control)", permissions=["view"])
    def measure_effect(self, request, queryset):
        for audience in queryset:
            self.message_user(request, format_html("{}: {}", audience.name, self.effect(audience)))

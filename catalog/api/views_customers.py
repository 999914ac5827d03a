"""Customer analytics API: recommendations, bought-together, a customer's segment / CLV / churn, audiences.

Requests only read precomputed rows (written by the ``train:customers`` and ``train:recommendations`` jobs);
nothing here trains or loads a model artifact.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import services_customers as svc
from catalog.models import (
    CampaignAudience,
    Customer,
    CustomerRecommendation,
    CustomerScore,
    Product,
    ProductAssociation,
)


class RecommendedProductSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField(allow_null=True)
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    score = serializers.FloatField()
    reason = serializers.CharField()


LIMIT_PARAMETER = OpenApiParameter("limit", int, description="How many products (1-50, default 10).")


def _recommendations_response(key: str):
    return inline_serializer(
        name=f"{key.title()}RecommendationsResponse",
        fields={key: serializers.IntegerField(), "results": RecommendedProductSerializer(many=True)},
    )


def _limit(request, default: int = 10) -> int:
    raw = request.query_params.get("limit", str(default))
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError({"limit": f"must be an integer from 1 to 50, got {raw!r}"})
    if not 1 <= value <= 50:
        raise serializers.ValidationError({"limit": f"must be an integer from 1 to 50, got {value}"})
    return value


def _payload(items: list[svc.Recommended]) -> list[dict]:
    """The response rows, built straight from the values the service read (what RecommendedProductSerializer
    would render: the price as a string with two decimals), so a page view costs no per-field serializer work."""
    return [
        {
            "product": r.product_id,
            "sku": r.sku,
            "name": r.name,
            "category": r.category,
            "list_price": None if r.list_price is None else f"{r.list_price:.2f}",
            "score": round(r.score, 6),
            "reason": r.reason,
        }
        for r in items
    ]


class CustomerRecommendationsView(APIView):
    """GET /api/v1/customers/{id}/recommendations/?limit=10: personalised products (not yet bought, in stock),
    topped up with popular products of the customer's categories, then best-sellers."""

    queryset = CustomerRecommendation.objects.none()

    @extend_schema(parameters=[LIMIT_PARAMETER], responses=_recommendations_response("customer"))
    def get(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        items = svc.customer_recommendations(customer=customer, limit=_limit(request))
        return Response({"customer": customer.pk, "results": _payload(items)})


class ProductBoughtTogetherView(APIView):
    """GET /api/v1/products/{id}/bought-together/?limit=10: products most often in the same order."""

    queryset = ProductAssociation.objects.none()

    @extend_schema(parameters=[LIMIT_PARAMETER], responses=_recommendations_response("product"))
    def get(self, request, pk: int):
        product = get_object_or_404(Product, pk=pk)
        items = svc.product_bought_together(product=product, limit=_limit(request))
        return Response({"product": product.pk, "results": _payload(items)})


class CustomerAnalyticsView(APIView):
    """GET /api/v1/customers/{id}/analytics/: segment, RFM, P(alive), churn risk, CLV, segment history."""

    queryset = CustomerScore.objects.none()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        return Response({"customer": customer.pk, **svc.customer_analytics(customer=customer)})


class AudienceSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    control_members = serializers.SerializerMethodField()

    class Meta:
        model = CampaignAudience
        fields = [
            "id",
            "name",
            "source",
            "criterion",
            "snapshot_date",
            "control_fraction",
            "seed",
            "campaign_start",
            "campaign_end",
            "created_at",
            "members",
            "control_members",
        ]
        read_only_fields = ["id", "snapshot_date", "created_at", "members", "control_members"]

    # The list annotates both counts (one query per page, not two per audience); a new audience counts them.
    def get_members(self, obj) -> int:
        return obj.member_count if hasattr(obj, "member_count") else obj.members.count()

    def get_control_members(self, obj) -> int:
        if hasattr(obj, "control_count"):
            return obj.control_count
        return obj.members.filter(is_control=True).count()


def effect_payload(effect: svc.AudienceEffect) -> dict:
    def group(g: svc.GroupOutcome) -> dict:
        return {
            "customers": g.customers,
            "buyers": g.buyers,
            "orders": g.orders,
            "revenue": g.revenue,
            "conversion": round(g.conversion, 6),
            "revenue_per_customer": round(g.revenue_per_customer, 4),
        }

    return {
        "start": effect.start,
        "end": effect.end,
        "treatment": group(effect.treatment),
        "control": group(effect.control),
        "conversion_lift": round(effect.conversion_lift, 6),
        "conversion_lift_ci95": [round(v, 6) for v in effect.conversion_ci],
        "revenue_lift_per_customer": round(effect.revenue_lift_per_customer, 4),
        "revenue_lift_ci95": [round(v, 4) for v in effect.revenue_ci],
    }


class AudienceViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Campaign audiences: POST {name, source: segment|churn_risk, criterion, campaign_start, control_fraction,
    seed} selects the customers and keeps a seeded control group; ``export`` is the CSV for the campaign tool
    (control left out unless ``?include_control=1``); ``effect`` compares treatment and control afterwards."""

    queryset = CampaignAudience.objects.annotate(
        member_count=Count("members"), control_count=Count("members", filter=Q(members__is_control=True))
    ).order_by("-created_at", "-pk")
    serializer_class = AudienceSerializer
    filterset_fields = ["source", "criterion"]
    ordering_fields = ["created_at", "name"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            audience = svc.audience_create(
                name=data["name"],
                source=data["source"],
                criterion=data["criterion"],
                campaign_start=data["campaign_start"],
                control_fraction=data.get("control_fraction", 0.1),
                seed=data.get("seed", 0),
                user=request.user,
            )
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            return Response({field: [reason or str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        if data.get("campaign_end"):
            audience.campaign_end = data["campaign_end"]
            audience.save(update_fields=["campaign_end", "updated_at"])
        return Response(self.get_serializer(audience).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        audience = self.get_object()
        include_control = request.query_params.get("include_control") in {"1", "true", "yes"}
        from access.pii import user_sees_personal_data

        csv_text = svc.audience_csv(
            audience=audience, include_control=include_control, personal_data=user_sees_personal_data(request.user)
        )
        response = HttpResponse(csv_text, content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}.csv"'
        return response

    @action(detail=True, methods=["get"])
    def effect(self, request, pk=None):
        audience = self.get_object()
        end = request.query_params.get("end")
        try:
            from datetime import date

            end_date = date.fromisoformat(end) if end else None
            effect = svc.audience_effect(audience=audience, end=end_date)
        except ValueError as exc:
            return Response({"end": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"audience": audience.pk, **effect_payload(effect)})


class CustomerAnalyticsTrainView(APIView):
    """POST /api/v1/customer-analytics/train/ {"kind": "customers" | "recommendations"}: queue the job (202)."""

    queryset = CustomerScore.objects.none()

    @extend_schema(
        request=inline_serializer(
            name="CustomerAnalyticsTrainRequest",
            fields={
                "kind": serializers.ChoiceField(choices=["customers", "recommendations"], default="customers"),
                "as_of": serializers.DateField(required=False),
            },
        ),
        responses={202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        from ecomops.jobs import job_start

        data = request.data if isinstance(request.data, dict) else {}
        kind = data.get("kind", "customers")
        if not isinstance(kind, str) or kind not in {"customers", "recommendations"}:
            return Response({"kind": [f"must be customers or recommendations, got {kind!r}"]}, status=400)
        params = {}
        if data.get("as_of"):
            params["as_of"] = str(data["as_of"])
        try:
            job = job_start(kind=f"train:{kind}", parameters=params, requested_by=request.user, requested_via="api")
        except ValueError as exc:  # parameters.as_of is not a date
            return Response({"as_of": [str(exc)]}, status=400)
        return Response({"job": job.pk, "kind": job.kind, "state": job.state}, status=status.HTTP_202_ACCEPTED)

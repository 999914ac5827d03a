"""REST API of demand forecasts and replenishment suggestions (``/api/v1/forecasts/``, ``/api/v1/replenishment/``)."""

from __future__ import annotations

from datetime import date

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ecomops.jobs import job_start
from inventory.forecasting import forecast_list
from inventory.models import DemandForecast, ReplenishmentSuggestion
from inventory.replenishment import (
    ReplenishmentError,
    purchase_orders_create_from_suggestions,
    replenishment_suggest,
)


class DemandForecastSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)
    model_version_number = serializers.IntegerField(source="model_version.version", read_only=True)

    class Meta:
        model = DemandForecast
        fields = [
            "id", "product", "sku", "location", "location_code", "period_start", "period_days", "horizon_step",
            "p10", "p50", "p90", "method", "as_of", "model_version", "model_version_number",
        ]  # fmt: skip
        read_only_fields = fields


class DemandForecastFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    location_code = django_filters.CharFilter(field_name="location__code")
    period_start_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_start_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")
    version = django_filters.NumberFilter(field_name="model_version__version")
    active = django_filters.BooleanFilter(method="filter_active", label="only rows of the active version")

    class Meta:
        model = DemandForecast
        fields = ["product", "location", "model_version", "as_of", "method"]

    def filter_active(self, queryset, name, value):
        if value is None:
            return queryset
        condition = {"model_version__status": "active"}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)


class TrainRequestSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="train on sales strictly before (default today)")
    horizon = serializers.IntegerField(required=False, min_value=1, max_value=366, default=28)


class ForecastViewSet(viewsets.ReadOnlyModelViewSet):
    """Forecast rows (P10/P50/P90 per product, location and period), each with its model version."""

    queryset = forecast_list()
    serializer_class = DemandForecastSerializer
    filterset_class = DemandForecastFilter
    ordering_fields = ["period_start", "p50", "product", "location"]

    @action(detail=False, methods=["post"], serializer_class=TrainRequestSerializer)
    def train(self, request):
        """Start a ``train:demand`` job; 202 with the job id (follow it at /api/v1/jobs/<id>/)."""
        serializer = TrainRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        as_of = serializer.validated_data.get("as_of") or date.today()
        job = job_start(
            kind="train:demand",
            parameters={"as_of": as_of.isoformat(), "horizon": serializer.validated_data["horizon"]},
            requested_by=request.user,
            requested_via="api",
        )
        return Response({"job_id": job.pk, "kind": job.kind, "state": job.state}, status=status.HTTP_202_ACCEPTED)


class ReplenishmentSuggestionSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)

    class Meta:
        model = ReplenishmentSuggestion
        fields = [
            "id", "product", "sku", "location", "location_code", "supplier", "as_of", "status", "on_hand",
            "on_order", "service_level", "lead_time_days", "lead_time_std_days", "daily_demand", "safety_stock",
            "reorder_point", "order_up_to", "quantity", "unit_cost", "days_of_cover", "stockout_risk",
            "overstock_units", "reason", "model_version", "purchase_order_line",
        ]  # fmt: skip
        read_only_fields = fields


class ReplenishmentFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    location_code = django_filters.CharFilter(field_name="location__code")
    min_quantity = django_filters.NumberFilter(field_name="quantity", lookup_expr="gte")

    class Meta:
        model = ReplenishmentSuggestion
        fields = ["product", "location", "supplier", "status", "as_of"]


class ComputeRequestSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)


class CreateOrdersRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=5000)


CREATE_ORDERS_RESULT = inline_serializer(
    name="CreatePurchaseOrdersResult",
    fields={
        "purchase_orders": serializers.ListField(child=serializers.CharField(), help_text="Numbers of the drafts."),
        "skipped": serializers.ListField(
            child=inline_serializer(
                name="SkippedSuggestion", fields={"id": serializers.IntegerField(), "reason": serializers.CharField()}
            )
        ),
    },
)


class ReplenishmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Replenishment suggestions: reorder point, safety stock, order-up-to, the quantity and why."""

    queryset = ReplenishmentSuggestion.objects.select_related("product", "location").order_by(
        "-as_of", "product_id", "location_id", "pk"
    )
    serializer_class = ReplenishmentSuggestionSerializer
    filterset_class = ReplenishmentFilter
    ordering_fields = ["as_of", "stockout_risk", "quantity", "days_of_cover"]

    @action(detail=False, methods=["post"], serializer_class=ComputeRequestSerializer)
    def compute(self, request):
        """Recompute suggestions from the active demand forecast (optionally within a budget)."""
        serializer = ComputeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rows = replenishment_suggest(
                as_of=serializer.validated_data.get("as_of"), budget=serializer.validated_data.get("budget")
            )
        except ReplenishmentError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {"suggestions": len(rows), "to_order": sum(1 for r in rows if r.quantity > 0)}, status=status.HTTP_200_OK
        )

    @extend_schema(
        request=CreateOrdersRequestSerializer,
        responses={
            201: OpenApiResponse(CREATE_ORDERS_RESULT, description="Draft purchase orders created."),
            200: OpenApiResponse(CREATE_ORDERS_RESULT, description="Nothing created; every id skipped (why)."),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="create-purchase-orders",
        serializer_class=CreateOrdersRequestSerializer,
    )
    def create_purchase_orders(self, request):
        """Turn open suggestions (by id) into draft purchase orders, one per supplier and location."""
        serializer = CreateOrdersRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["ids"]
        existing = set(self.get_queryset().filter(pk__in=ids).values_list("pk", flat=True))
        result = purchase_orders_create_from_suggestions(
            suggestions=self.get_queryset().filter(pk__in=ids), user=request.user
        )
        return Response(
            {
                "purchase_orders": [o.number for o in result.orders],
                "skipped": [{"id": s.pk, "reason": why} for s, why in result.skipped]
                + [{"id": pk, "reason": "not found"} for pk in ids if pk not in existing],
            },
            status=status.HTTP_201_CREATED if result.orders else status.HTTP_200_OK,
        )

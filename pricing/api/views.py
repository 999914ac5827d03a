"""ViewSets of the pricing API (mounted under /api/v1/pricing/)."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import Product
from ecomops.api.bulk import BulkStatus, BulkUpsertMixin
from ecomops.api.idempotency import IdempotentCreateMixin
from ecomops.jobs import job_start
from pricing import selectors, services
from pricing.models import PriceHistory

from . import filters, serializers


class HasModelChangePermission(permissions.BasePermission):
    """Deciding on an object (approve, reject, acknowledge) needs the model's ``change`` permission."""

    def has_permission(self, request, view):
        model = view.get_queryset().model
        return bool(
            request.user
            and request.user.is_authenticated
            and request.user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
        )


def _decision_permissions(view):
    from django.conf import settings
    from django.utils.module_loading import import_string

    defaults = [
        import_string(path)
        for path in settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]
        if not path.endswith("ModelPermissions")
    ]
    return [cls() for cls in defaults] + [HasModelChangePermission()]


class PriceHistoryViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    """Prices in force and planned. Creating or changing one goes through ``price_plan`` (audited)."""

    queryset = selectors.price_history_list()
    serializer_class = serializers.PriceHistorySerializer
    filterset_class = filters.PriceHistoryFilter
    ordering_fields = ["effective_from", "price", "created_at"]
    search_fields = ["product__sku", "location__code", "note"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.price_plan(
            product=data["product"],
            location=data.get("location"),
            price=data["price"],
            effective_from=data["effective_from"],
            user=self.request.user,
            reason=data.get("note", ""),
            source=PriceHistory.Source.API,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        instance = serializer.instance
        if {"product", "location", "effective_from"} & data.keys() and (
            data.get("product", instance.product) != instance.product
            or data.get("location", instance.location) != instance.location
            or data.get("effective_from", instance.effective_from) != instance.effective_from
        ):
            from rest_framework.exceptions import ValidationError

            raise ValidationError(
                {"non_field_errors": ["product, location and effective_from cannot change; create a new row"]}
            )
        serializer.instance = services.price_plan(
            product=instance.product,
            location=instance.location,
            price=data.get("price", instance.price),
            effective_from=instance.effective_from,
            user=self.request.user,
            reason=data.get("note", instance.note),
            source=PriceHistory.Source.API,
        )


class PromotionViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = selectors.promotion_list()
    serializer_class = serializers.PromotionSerializer
    filterset_class = filters.PromotionFilter
    ordering_fields = ["starts_on", "ends_on", "kind"]
    search_fields = ["product__sku", "location__code"]


class CompetitorPriceViewSet(IdempotentCreateMixin, BulkUpsertMixin, viewsets.ModelViewSet):
    """Competitor observations; ``POST bulk/`` ingests many (upsert on product, competitor, observed_at)."""

    queryset = selectors.competitor_price_list()
    serializer_class = serializers.CompetitorPriceSerializer
    filterset_class = filters.CompetitorPriceFilter
    ordering_fields = ["observed_at", "price", "competitor"]
    search_fields = ["product__sku", "competitor"]
    bulk_serializer_class = serializers.CompetitorPriceBulkRowSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance, _ = services.competitor_price_record(
            product=data["product"],
            competitor=data["competitor"],
            price=data["price"],
            observed_at=data["observed_at"],
            url=data.get("url", ""),
            source=data.get("source", "api"),
        )

    def bulk_prepare(self, rows):
        skus = {str(row.get("product")) for row in rows if isinstance(row, dict) and row.get("product")}
        return {"products": {p.sku: p for p in Product.objects.filter(sku__in=skus).select_related("category")}}

    def bulk_upsert_row(self, data, *, prepared, request):
        observation, created = services.competitor_price_record(**data)
        return observation, BulkStatus.CREATED if created else BulkStatus.UPDATED


class ElasticityEstimateViewSet(viewsets.ReadOnlyModelViewSet):
    """Own-price elasticities with 95 % intervals and plausibility flags, per model version."""

    queryset = selectors.elasticity_list()
    serializer_class = serializers.ElasticityEstimateSerializer
    filterset_class = filters.ElasticityFilter
    ordering_fields = ["elasticity", "low", "high", "created_at"]
    search_fields = ["product__sku", "location__code"]


class PriceRecommendationViewSet(viewsets.ReadOnlyModelViewSet):
    """Recommended prices; ``approve`` / ``reject`` decide one, ``generate`` queues a recommendation job."""

    queryset = selectors.recommendation_list()
    serializer_class = serializers.PriceRecommendationSerializer
    filterset_class = filters.RecommendationFilter
    ordering_fields = ["as_of", "expected_profit", "elasticity", "status", "created_at"]
    search_fields = ["product__sku", "location__code", "binding_rule"]

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return _decision_permissions(self)
        return super().get_permissions()

    @extend_schema(request=serializers.DecisionSerializer, responses=serializers.PriceRecommendationSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        recommendation = self.get_object()
        body = serializers.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            rec = services.price_recommendation_approve(
                recommendation_id=recommendation.pk,
                user=request.user,
                reason=body.validated_data["reason"],
                effective_from=body.validated_data.get("effective_from"),
            )
        except services.RecommendationStateError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except (services.PricingError, IntegrityError) as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(self.get_queryset().get(pk=rec.pk)).data)

    @extend_schema(request=serializers.DecisionSerializer, responses=serializers.PriceRecommendationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        recommendation = self.get_object()
        body = serializers.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            rec = services.price_recommendation_reject(
                recommendation_id=recommendation.pk, user=request.user, reason=body.validated_data["reason"]
            )
        except services.RecommendationStateError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except services.PricingError as error:
            return Response({"reason": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(self.get_queryset().get(pk=rec.pk)).data)

    @extend_schema(request=serializers.RecommendSerializer, responses={202: None})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """Queue ``score:price_response`` (trains as of the date first when needed); returns 202 and the job id."""
        if not request.user.has_perm("pricing.add_pricerecommendation"):
            return Response({"detail": "needs pricing.add_pricerecommendation"}, status=status.HTTP_403_FORBIDDEN)
        body = serializers.RecommendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        as_of = body.validated_data.get("as_of") or timezone.localdate()
        with transaction.atomic():
            job = job_start(
                kind="score:price_response",
                parameters={"as_of": as_of.isoformat(), "select": body.validated_data["select"]},
                requested_by=request.user,
                requested_via="api",
            )
        return Response({"job": job.pk, "state": job.state}, status=status.HTTP_202_ACCEPTED)


class PricingRuleViewSet(viewsets.ModelViewSet):
    queryset = selectors.pricing_rule_list()
    serializer_class = serializers.PricingRuleSerializer
    ordering_fields = ["category", "objective"]
    filterset_fields = ["category", "objective"]


class CompetitorPriceAlertViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.competitor_alert_list()
    serializer_class = serializers.CompetitorPriceAlertSerializer
    filterset_class = filters.AlertFilter
    ordering_fields = ["created_at", "gap"]

    def get_permissions(self):
        if self.action == "acknowledge":
            return _decision_permissions(self)
        return super().get_permissions()

    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        services.competitor_alert_acknowledge(alert_ids=[alert.pk])
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)


class PriceChangeAuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = selectors.price_audit_list()
    serializer_class = serializers.PriceChangeAuditSerializer
    filterset_class = filters.AuditFilter
    ordering_fields = ["changed_at"]

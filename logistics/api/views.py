"""ViewSets of the logistics API: base tables, delivery predictions, order risk, route plans."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ecomops.jobs import job_start
from ecomops.models import defer_documents
from logistics.models import Carrier, DeliveryPrediction, OrderRisk, RoutePlan, Shipment, TrackingEvent, ZipArea

from . import serializers


class CarrierViewSet(viewsets.ModelViewSet):
    queryset = Carrier.objects.order_by("code", "pk")
    serializer_class = serializers.CarrierSerializer
    filterset_fields = ["code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "created_at"]


class ZipAreaViewSet(viewsets.ModelViewSet):
    queryset = ZipArea.objects.order_by("prefix", "pk")
    serializer_class = serializers.ZipAreaSerializer
    filterset_fields = ["prefix", "state", "city"]
    search_fields = ["prefix", "city"]
    ordering_fields = ["prefix", "state", "city"]


class ShipmentViewSet(viewsets.ModelViewSet):
    queryset = Shipment.objects.select_related("order", "carrier").order_by("-created_at", "-pk")
    serializer_class = serializers.ShipmentSerializer
    filterset_fields = ["status", "carrier", "order"]
    search_fields = ["tracking_number", "order__external_id"]
    ordering_fields = ["created_at", "shipped_at", "delivered_at", "estimated_delivery_date"]


class TrackingEventViewSet(viewsets.ModelViewSet):
    queryset = TrackingEvent.objects.order_by("shipment_id", "occurred_at", "pk")
    serializer_class = serializers.TrackingEventSerializer
    filterset_fields = ["shipment", "status"]
    search_fields = ["status", "location", "description"]
    ordering_fields = ["occurred_at"]


class DeliveryPredictionViewSet(viewsets.ReadOnlyModelViewSet):
    """ETA, promise date and late risk per order; ``POST predict`` trains as of a date and predicts (a job)."""

    queryset = defer_documents(
        DeliveryPrediction.objects.select_related("order", "model_version__registered_model")
    ).order_by("-late_risk", "pk")
    serializer_class = serializers.DeliveryPredictionSerializer
    filterset_fields = ["as_of", "model_version", "order"]
    search_fields = ["order__external_id"]
    ordering_fields = ["late_risk", "promise_date", "eta_date", "as_of", "created_at"]

    @action(detail=False, methods=["post"], serializer_class=serializers.PredictDeliverySerializer)
    def predict(self, request):
        """Queue ``train:delivery`` as of a date (202 with the job id); results appear in this list."""
        serializer = serializers.PredictDeliverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parameters = {"as_of": serializer.validated_data["as_of"].isoformat()}
        if "target_late_share" in serializer.validated_data:
            parameters["target_late_share"] = serializer.validated_data["target_late_share"]
        job = job_start(kind="train:delivery", parameters=parameters, requested_by=request.user, requested_via="api")
        return Response({"job": job.pk, "kind": job.kind, "state": job.state}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=serializers.DeliveryPredictionSerializer(many=True))  # a page of predictions
    @action(detail=False, methods=["get"], url_path="likely-late")
    def likely_late(self, request):
        from logistics.selectors import likely_late_predictions

        page = self.paginate_queryset(self.filter_queryset(likely_late_predictions()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class OrderRiskViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Anomaly scores of orders, riskiest first; PATCH ``status`` to clear or hold an order."""

    queryset = OrderRisk.objects.select_related("order").order_by("-score", "pk")
    serializer_class = serializers.OrderRiskSerializer
    filterset_fields = ["status"]
    search_fields = ["order__external_id"]
    ordering_fields = ["score", "created_at"]


class RoutePlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Stored route plans with their stops; ``POST plan`` solves a location's shipments of a day."""

    queryset = RoutePlan.objects.select_related("location").prefetch_related("stops").order_by("-date", "-pk")
    serializer_class = serializers.RoutePlanSerializer
    filterset_fields = ["location", "date"]
    ordering_fields = ["date", "total_distance_km"]

    @action(detail=False, methods=["post"], serializer_class=serializers.PlanRoutesSerializer)
    def plan(self, request):
        from inventory.models import Location
        from logistics.routing import RoutingError, route_plan_create

        serializer = serializers.PlanRoutesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        location = Location.objects.filter(pk=data["location"]).first()
        if location is None:
            return Response({"location": [f"no location with id {data['location']}"]}, status=400)
        try:
            plan = route_plan_create(
                location=location,
                day=data["date"],
                vehicle_capacity=data["vehicle_capacity"],
                vehicles=data["vehicles"],
                seconds=data["seconds"],
                shift_start=data["shift_start"],
                shift_end=data["shift_end"],
                speed_kmh=data["speed_kmh"],
                service_minutes=data["service_minutes"],
            )
        except RoutingError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(serializers.RoutePlanSerializer(plan).data, status=status.HTTP_201_CREATED)

"""Serializers of the logistics API."""

from rest_framework import serializers

from logistics.models import (
    Carrier,
    DeliveryPrediction,
    OrderRisk,
    RoutePlan,
    RouteStop,
    Shipment,
    TrackingEvent,
    ZipArea,
)
from logistics.routing import (
    DEFAULT_SERVICE_MINUTES,
    DEFAULT_SHIFT_END,
    DEFAULT_SHIFT_START,
    DEFAULT_SPEED_KMH,
)


class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", "code", "name", "created_at", "updated_at"]


class ZipAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = ZipArea
        fields = ["id", "prefix", "latitude", "longitude", "city", "state", "points"]

    def validate_latitude(self, value):
        if not -90 <= value <= 90:
            raise serializers.ValidationError("latitude must be between -90 and 90")
        return value

    def validate_longitude(self, value):
        if not -180 <= value <= 180:
            raise serializers.ValidationError("longitude must be between -180 and 180")
        return value


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["id", "shipment", "occurred_at", "status", "location", "description"]


class ShipmentSerializer(serializers.ModelSerializer):
    order_external_id = serializers.CharField(source="order.external_id", read_only=True)
    carrier_code = serializers.CharField(source="carrier.code", read_only=True, default=None)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "order",
            "order_external_id",
            "carrier",
            "carrier_code",
            "tracking_number",
            "status",
            "shipped_at",
            "delivered_at",
            "estimated_delivery_date",
            "window_start",
            "window_end",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs):
        start = attrs.get("window_start", getattr(self.instance, "window_start", None))
        end = attrs.get("window_end", getattr(self.instance, "window_end", None))
        if (start is None) != (end is None):
            field = "window_end" if end is None else "window_start"
            raise serializers.ValidationError({field: "give both ends of the delivery time window, or neither"})
        if start is not None and end <= start:
            raise serializers.ValidationError({"window_end": "the delivery time window must end after it starts"})
        return attrs


class DeliveryPredictionSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.external_id", read_only=True)
    purchased_at = serializers.DateTimeField(source="order.purchased_at", read_only=True)
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryPrediction
        fields = [
            "id",
            "order_id",
            "purchased_at",
            "eta_date",
            "promise_date",
            "late_risk",
            "model_version",
            "as_of",
            "eta_days",
            "promise_days",
            "shipment",
            "created_at",
        ]

    def get_model_version(self, obj) -> str:
        return f"{obj.model_version.registered_model.name} v{obj.model_version.version}"


class PredictDeliverySerializer(serializers.Serializer):
    as_of = serializers.DateField()
    target_late_share = serializers.FloatField(required=False, min_value=0.001, max_value=0.49)


class OrderRiskSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.external_id", read_only=True)

    class Meta:
        model = OrderRisk
        fields = ["id", "order", "order_id", "score", "reasons", "status", "reviewed_at", "created_at"]
        read_only_fields = ["order", "score", "reasons", "reviewed_at", "created_at"]


class RouteStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouteStop
        fields = [
            "route_number",
            "sequence",
            "shipment",
            "latitude",
            "longitude",
            "load",
            "distance_from_previous_km",
            "planned_arrival",
        ]


class RoutePlanSerializer(serializers.ModelSerializer):
    stops = RouteStopSerializer(many=True, read_only=True)
    location_code = serializers.CharField(source="location.code", read_only=True)

    class Meta:
        model = RoutePlan
        fields = [
            "id",
            "location",
            "location_code",
            "date",
            "vehicle_capacity",
            "vehicles_available",
            "total_distance_km",
            "routes_used",
            "is_feasible",
            "solver",
            "runtime_seconds",
            "unplanned",
            "uses_time_windows",
            "shift_start",
            "shift_end",
            "speed_kmh",
            "service_minutes",
            "stops",
            "created_at",
        ]
        read_only_fields = [
            "total_distance_km",
            "routes_used",
            "is_feasible",
            "solver",
            "runtime_seconds",
            "unplanned",
            "uses_time_windows",
            "shift_start",
            "shift_end",
            "speed_kmh",
            "service_minutes",
        ]


class PlanRoutesSerializer(serializers.Serializer):
    location = serializers.IntegerField()
    date = serializers.DateField()
    vehicle_capacity = serializers.IntegerField(min_value=1)
    vehicles = serializers.IntegerField(min_value=1, max_value=500)
    seconds = serializers.FloatField(min_value=0.1, max_value=60, default=2.0)
    shift_start = serializers.TimeField(default=DEFAULT_SHIFT_START, help_text="Used when shipments have windows.")
    shift_end = serializers.TimeField(default=DEFAULT_SHIFT_END)
    speed_kmh = serializers.FloatField(min_value=1, max_value=200, default=DEFAULT_SPEED_KMH)
    service_minutes = serializers.IntegerField(min_value=0, max_value=240, default=DEFAULT_SERVICE_MINUTES)

    def validate(self, attrs):
        if attrs["shift_end"] <= attrs["shift_start"]:
            raise serializers.ValidationError({"shift_end": "the shift must end after it starts"})
        return attrs

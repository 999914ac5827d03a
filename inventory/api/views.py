"""ViewSets of the inventory API. Stock changes only through the ledger (``/stock-movements/``)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from catalog.models import Product
from ecomops.api.bulk import BulkStatus, BulkUpsertMixin
from ecomops.api.idempotency import IdempotentCreateMixin
from inventory import selectors
from inventory.models import (
    Allocation,
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesObservation,
    ServiceLevelTarget,
    StockMovement,
    Supplier,
    SupplierProduct,
)
from inventory.services import StockError, stock_count, stock_movement_record

from . import filters, serializers


class StockConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stock_conflict"


class LocationViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = Location.objects.order_by("code", "pk")
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilter
    search_fields = ["code", "name", "city"]
    ordering_fields = ["code", "name", "kind", "created_at"]


class StockLevelViewSet(viewsets.ReadOnlyModelViewSet):
    """Stock levels (read-only): they change only through stock movements."""

    queryset = selectors.stock_level_list()
    serializer_class = serializers.StockLevelSerializer
    filterset_class = filters.StockLevelFilter
    search_fields = ["product__sku", "location__code"]
    ordering_fields = ["on_hand", "reserved", "updated_at", "product__sku", "location__code"]


class StockMovementViewSet(
    BulkUpsertMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The stock ledger: list, read and append movements (never change or delete them).

    A movement whose ``idempotency_key`` was already used returns the first movement (200); the same key
    with different values, or a movement the stock cannot cover, gets 409 with the reason.
    """

    queryset = selectors.stock_movement_list()
    serializer_class = serializers.StockMovementSerializer
    filterset_class = filters.StockMovementFilter
    search_fields = ["product__sku", "location__code", "reference", "idempotency_key"]
    ordering_fields = ["created_at", "reason", "on_hand_delta", "reserved_delta"]
    bulk_serializer_class = serializers.StockMovementBulkRowSerializer
    bulk_row_errors = (StockError, ValueError)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        existed = StockMovement.objects.filter(idempotency_key=data["idempotency_key"]).exists()
        try:
            movement = stock_movement_record(
                product=data["product"],
                location=data["location"],
                on_hand_delta=data.get("on_hand_delta", 0),
                reserved_delta=data.get("reserved_delta", 0),
                reason=data["reason"],
                key=data["idempotency_key"],
                reference=data.get("reference", ""),
                user=request.user,
            )
        except StockError as error:
            raise StockConflict(str(error))
        movement = self.get_queryset().get(pk=movement.pk)
        return Response(
            self.get_serializer(movement).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    def bulk_prepare(self, rows):
        dicts = [row for row in rows if isinstance(row, dict)]
        skus = {str(row["sku"]) for row in dicts if row.get("sku")}
        codes = {str(row["location"]) for row in dicts if row.get("location")}
        keys = {str(row["key"]) for row in dicts if row.get("key")}
        return {
            "products": {p.sku: p for p in Product.objects.filter(sku__in=skus)},
            "locations": {loc.code: loc for loc in Location.objects.filter(code__in=codes)},
            "known_keys": set(
                StockMovement.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
            ),
        }

    def bulk_apply(self, rows, *, prepared, request):
        # One global order of the level rows (a stable sort keeps each pair's movements in request order),
        # so two batches applied in one transaction each never lock in opposite orders.
        ordered = sorted(rows, key=lambda row: (row.data["sku"].pk, row.data["location"].pk))
        return super().bulk_apply(ordered, prepared=prepared, request=request)

    def bulk_upsert_row(self, data, *, prepared, request):
        common = dict(
            product=data["sku"],
            location=data["location"],
            key=data["key"],
            reference=data["reference"],
            user=request.user,
        )
        if data["reason"] == StockMovement.Reason.COUNT:
            movement = stock_count(counted=data["counted"], **common)
        else:
            movement = stock_movement_record(
                on_hand_delta=data["on_hand_delta"],
                reserved_delta=data["reserved_delta"],
                reason=data["reason"],
                **common,
            )
        if data["key"] in prepared["known_keys"]:
            return movement, BulkStatus.UNCHANGED
        prepared["known_keys"].add(data["key"])
        return movement, BulkStatus.CREATED


class SupplierViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = Supplier.objects.order_by("code", "pk")
    serializer_class = serializers.SupplierSerializer
    filterset_class = filters.SupplierFilter
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "lead_time_days"]


class SupplierProductViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = SupplierProduct.objects.select_related("supplier", "product").order_by("supplier_id", "product_id")
    serializer_class = serializers.SupplierProductSerializer
    filterset_class = filters.SupplierProductFilter
    search_fields = ["supplier__code", "product__sku"]
    ordering_fields = ["supplier", "product", "unit_cost", "pack_size"]


class PurchaseOrderViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = (
        PurchaseOrder.objects.select_related("supplier", "location", "created_by", "approved_by")
        .prefetch_related(
            Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("product").order_by("pk"))
        )
        .order_by("-created_at", "-pk")
    )
    serializer_class = serializers.PurchaseOrderSerializer
    filterset_class = filters.PurchaseOrderFilter
    search_fields = ["number", "supplier__code", "supplier__name", "notes"]
    ordering_fields = ["created_at", "expected_at", "number", "status"]

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @extend_schema(request=None, responses={200: serializers.PurchaseOrderSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """A planner approves a draft purchase order (recorded with who and when); other states answer 409."""
        from inventory.replenishment import purchase_orders_approve

        if not request.user.has_perm("inventory.change_purchaseorder"):
            self.permission_denied(request, message="approving needs the change permission on purchase orders")
        order = self.get_object()
        if not purchase_orders_approve(orders=PurchaseOrder.objects.filter(pk=order.pk), user=request.user):
            return Response({"detail": f"purchase order {order.number} is {order.status}, not draft"}, status=409)
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data)


class PurchaseOrderLineViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = PurchaseOrderLine.objects.select_related("purchase_order", "product").order_by("purchase_order_id", "pk")
    serializer_class = serializers.PurchaseOrderLineSerializer
    filterset_class = filters.PurchaseOrderLineFilter
    search_fields = ["purchase_order__number", "product__sku"]
    ordering_fields = ["purchase_order", "quantity", "unit_cost"]


class SalesObservationViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = SalesObservation.objects.select_related("product", "location").order_by(
        "product_id", "location_id", "period_start", "pk"
    )
    serializer_class = serializers.SalesObservationSerializer
    filterset_class = filters.SalesObservationFilter
    search_fields = ["product__sku", "location__code"]
    ordering_fields = ["period_start", "units", "price"]


class AllocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Allocations of orders to locations (read-only: written by the allocation service)."""

    queryset = Allocation.objects.select_related("order_line__order", "location").order_by("-created_at", "-pk")
    serializer_class = serializers.AllocationSerializer
    filterset_class = filters.AllocationFilter
    search_fields = ["order_line__order__external_id", "location__code"]
    ordering_fields = ["created_at", "quantity", "status"]


class ServiceLevelTargetViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    queryset = ServiceLevelTarget.objects.select_related("category").order_by("category_id", "pk")
    serializer_class = serializers.ServiceLevelTargetSerializer
    filterset_class = filters.ServiceLevelTargetFilter
    search_fields = ["category__name", "category__name_en"]
    ordering_fields = ["category", "target"]

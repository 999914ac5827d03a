"""Allocation of orders to locations: pick where each approved order ships from and reserve its stock.

The location is the nearest active one (great-circle distance to the customer's postal-prefix centre) that
has every line available; if none has everything, each line goes to the nearest location that has it.
Stock is reserved through the ledger (``inventory.services``). Concurrency: the order row is locked
first (one allocation per order at a time), then every candidate stock-level row in primary-key order
(concurrent orders never deadlock and read availability only after the lock), and the ledger's
``reserved <= on_hand`` constraint is the last line of defence against overselling.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.db import transaction

from orders.models import Order, OrderLine

from .models import Allocation, Location, StockLevel
from .services import InsufficientStock, stock_release, stock_reserve

logger = logging.getLogger(__name__)

ALLOCATABLE_STATUSES = (Order.Status.APPROVED, Order.Status.INVOICED, Order.Status.PROCESSING)


class AllocationError(Exception):
    """The order cannot be allocated (message names the order, line and reason); nothing was reserved."""


@dataclass(frozen=True)
class AllocationResult:
    """The allocations of an order and whether this call created them (False: they already existed)."""

    allocations: list[Allocation]
    created: bool


def _customer_point(order: Order) -> tuple[float, float] | None:
    from logistics.selectors import zip_area_point

    return zip_area_point(prefix=order.shipping_zip_prefix or order.customer.zip_prefix)


def _location_point(location: Location) -> tuple[float, float] | None:
    if location.latitude is not None and location.longitude is not None:
        return location.latitude, location.longitude
    from logistics.selectors import zip_area_point

    return zip_area_point(prefix=location.zip_prefix)


def _distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    if a is None or b is None:
        return math.inf
    from logistics.ml.geo import haversine_km

    return haversine_km(a[0], a[1], b[0], b[1])


def order_allocate(*, order: Order, user=None) -> AllocationResult:
    """Allocate every line of an approved order and reserve its stock; all lines or none. Idempotent."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("customer").get(pk=order.pk)
        lines = list(OrderLine.objects.filter(order=order).select_related("product").order_by("line_number", "pk"))
        existing = list(
            Allocation.objects.filter(order_line__order=order, status=Allocation.Status.RESERVED)
            .select_related("location", "order_line")
            .order_by("pk")
        )
        if existing:
            return AllocationResult(allocations=existing, created=False)
        if order.status not in ALLOCATABLE_STATUSES:
            raise AllocationError(f"order {order.external_id} is {order.status}; only approved orders are allocated")
        if not lines:
            raise AllocationError(f"order {order.external_id} has no lines")
        needed: dict[int, int] = {}
        for line in lines:
            needed[line.product_id] = needed.get(line.product_id, 0) + line.quantity
        # Lock every stock row that could serve the order, in a fixed order, then read availability.
        levels = list(
            StockLevel.objects.select_for_update()
            .filter(product_id__in=needed, location__is_active=True)
            .select_related("location")
            .order_by("pk")
        )
        customer = _customer_point(order)
        available: dict[tuple[int, int], int] = {(lv.product_id, lv.location_id): lv.available for lv in levels}
        locations = {lv.location_id: lv.location for lv in levels}
        distance = {pk: _distance_km(customer, _location_point(loc)) for pk, loc in locations.items()}
        ranked = sorted(locations, key=lambda pk: (distance[pk], locations[pk].code))

        plan: list[tuple[OrderLine, int]] = []
        whole = next(
            (pk for pk in ranked if all(available.get((p, pk), 0) >= q for p, q in needed.items())),
            None,
        )
        if whole is not None:
            plan = [(line, whole) for line in lines]
        else:
            remaining = dict(available)
            for line in lines:
                source = next((pk for pk in ranked if remaining.get((line.product_id, pk), 0) >= line.quantity), None)
                if source is None:
                    total = sum(v for (p, _), v in available.items() if p == line.product_id)
                    raise AllocationError(
                        f"order {order.external_id} line {line.line_number} ({line.product.sku}): "
                        f"needs {line.quantity}, no single location has it ({total} available in all)"
                    )
                remaining[(line.product_id, source)] -= line.quantity
                plan.append((line, source))
        allocations = []
        try:
            for line, location_pk in plan:
                location = locations[location_pk]
                stock_reserve(
                    product=line.product,
                    location=location,
                    quantity=line.quantity,
                    key=f"allocate:{line.pk}:{location_pk}",
                    reference=f"order {order.external_id}",
                    user=user,
                )
                allocations.append(
                    Allocation.objects.create(order_line=line, location=location, quantity=line.quantity)
                )
        except InsufficientStock as exc:
            raise AllocationError(f"order {order.external_id}: {exc}")
    logger.info("allocated order %s to %s", order.external_id, sorted({a.location.code for a in allocations}))
    return AllocationResult(allocations=allocations, created=True)


def order_allocation_release(*, order: Order, user=None) -> int:
    """Release every open reservation of the order (e.g. it was canceled); returns how many. Idempotent."""
    released = 0
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        open_allocations = list(
            Allocation.objects.select_for_update()
            .filter(order_line__order=order, status=Allocation.Status.RESERVED)
            .select_related("order_line__product", "location")
            .order_by("pk")
        )
        for allocation in open_allocations:
            stock_release(
                product=allocation.order_line.product,
                location=allocation.location,
                quantity=allocation.quantity,
                key=f"release:{allocation.pk}",
                reference=f"order {order.external_id} released",
                user=user,
            )
            Allocation.objects.filter(pk=allocation.pk).update(status=Allocation.Status.RELEASED)
            released += 1
    return released


def order_cancel(*, order: Order, user=None) -> int:
    """Cancel the order and release its reservations in one transaction; returns reservations released."""
    with transaction.atomic():
        released = order_allocation_release(order=order, user=user)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)
    return released


def orders_allocate_pending(*, limit: int = 500, user=None) -> dict[str, int]:
    """Allocate approved orders without reservations, oldest first; failures are logged, not raised."""
    pending = (
        Order.objects.filter(status__in=ALLOCATABLE_STATUSES)
        .exclude(lines__allocations__status=Allocation.Status.RESERVED)
        .order_by("purchased_at", "pk")[:limit]
    )
    counts = {"allocated": 0, "failed": 0}
    for order in pending:
        try:
            order_allocate(order=order, user=user)
            counts["allocated"] += 1
        except AllocationError as exc:
            logger.warning("%s", exc)
            counts["failed"] += 1
    return counts

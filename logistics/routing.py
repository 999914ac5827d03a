"""Route planning service: a location's shipments of a day -> vehicle routes (PyVRP), stored as a RoutePlan."""

from __future__ import annotations

import logging
import math
from datetime import date, time

import numpy as np
from django.db import transaction
from django.db.models import Q, QuerySet

from inventory.models import Location

from .ml.geo import haversine_km
from .ml.routing import RoutingProblem, solve_routes
from .models import RoutePlan, RouteStop, Shipment, ZipArea

logger = logging.getLogger(__name__)
DEFAULT_PARCEL_GRAMS = 1000
DEFAULT_SHIFT_START, DEFAULT_SHIFT_END = time(8, 0), time(18, 0)
DEFAULT_SPEED_KMH = 30.0
DEFAULT_SERVICE_MINUTES = 5


class RoutingError(ValueError):
    """The routing request cannot be planned (message says why)."""


def shipments_for_routing(*, location: Location, day: date) -> QuerySet[Shipment]:
    """Open shipments of ``day`` whose order has stock allocated at ``location`` (shipped or created that day)."""
    return (
        Shipment.objects.filter(order__lines__allocations__location=location)
        .filter(Q(shipped_at__date=day) | Q(shipped_at__isnull=True, created_at__date=day))
        .exclude(status__in=[Shipment.Status.DELIVERED, Shipment.Status.RETURNED, Shipment.Status.LOST])
        .select_related("order", "order__customer")
        .prefetch_related("order__lines__product")
        .distinct()
        .order_by("pk")
    )


def _depot_coordinates(location: Location) -> tuple[float, float]:
    if location.latitude is not None and location.longitude is not None:
        return location.latitude, location.longitude
    area = ZipArea.objects.filter(prefix=location.zip_prefix).first() if location.zip_prefix else None
    if area is None:
        raise RoutingError(f"location {location.code} has no coordinates and no known postal prefix")
    return area.latitude, area.longitude


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _clock(seconds: int) -> time:
    seconds = max(0, min(int(seconds), 24 * 3600 - 1))
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def route_plan_create(
    *,
    location: Location,
    day: date,
    vehicle_capacity: int,
    vehicles: int,
    seconds: float = 2.0,
    shift_start: time = DEFAULT_SHIFT_START,
    shift_end: time = DEFAULT_SHIFT_END,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    service_minutes: int = DEFAULT_SERVICE_MINUTES,
) -> RoutePlan:
    """Plan routes from ``location`` for its shipments of ``day`` with PyVRP and store them.

    Load is the parcel weight in grams (product weight x quantity; 1 kg when unknown); distances are
    great-circle metres between postal-prefix centres. Shipments without a known address are listed in
    ``unplanned`` with the reason rather than failing the plan.

    Time windows: when any shipment has a delivery window (``Shipment.window_start`` / ``window_end``), the
    plan is solved with times: travel at ``speed_kmh`` along the same distances, ``service_minutes`` at each
    stop, vehicles out and back within the shift, each windowed shipment served inside its window (the others
    anywhere in the shift); each stop gets its planned arrival. A window that cannot be kept makes the plan
    infeasible and is listed in ``unplanned`` with how late the stop would be.
    """
    if vehicle_capacity < 1 or vehicles < 1:
        raise RoutingError("vehicle capacity and number of vehicles must be at least 1")
    if shift_end <= shift_start:
        raise RoutingError(f"the shift must end after it starts ({shift_start:%H:%M} - {shift_end:%H:%M})")
    if not 0 < speed_kmh <= 200:
        raise RoutingError(f"speed must be above 0 and at most 200 km/h, got {speed_kmh}")
    if not 0 <= service_minutes <= 240:
        raise RoutingError(f"service time must be between 0 and 240 minutes, got {service_minutes}")
    depot = _depot_coordinates(location)
    shipments = list(shipments_for_routing(location=location, day=day))
    if not shipments:
        raise RoutingError(f"no open shipments from {location.code} on {day}")
    prefixes = {s.order.shipping_zip_prefix or s.order.customer.zip_prefix for s in shipments}
    centres = {z.prefix: (z.latitude, z.longitude) for z in ZipArea.objects.filter(prefix__in=prefixes)}
    planned, points, demand, unplanned = [], [], [], []
    for shipment in shipments:
        prefix = shipment.order.shipping_zip_prefix or shipment.order.customer.zip_prefix
        if prefix not in centres:
            unplanned.append({"shipment": shipment.pk, "reason": f"unknown postal prefix {prefix!r}"})
            continue
        load = sum(
            (line.product.weight_g or DEFAULT_PARCEL_GRAMS) * line.quantity for line in shipment.order.lines.all()
        )
        load = max(int(load), 1)
        if load > vehicle_capacity:
            unplanned.append(
                {"shipment": shipment.pk, "reason": f"load {load} exceeds vehicle capacity {vehicle_capacity}"}
            )
            continue
        planned.append(shipment)
        points.append(centres[prefix])
        demand.append(load)
    if not planned:
        raise RoutingError(f"none of the {len(shipments)} shipments can be routed: {unplanned[0]['reason']}")
    coords = [depot, *points]
    lat = np.array([c[0] for c in coords])
    lng = np.array([c[1] for c in coords])
    metres = np.rint(1000 * haversine_km(lat[:, None], lng[:, None], lat[None, :], lng[None, :])).astype(np.int64)
    timed = any(s.window_start is not None for s in planned)
    times = {}
    if timed:
        shift = (_seconds(shift_start), _seconds(shift_end))
        times = {
            "duration": np.rint(metres / (speed_kmh / 3.6)).astype(np.int64),
            "depot_window": shift,
            "time_windows": [
                (max(_seconds(s.window_start), shift[0]), min(_seconds(s.window_end), shift[1]))
                if s.window_start is not None
                else shift
                for s in planned
            ],
            "service_duration": [60 * service_minutes] * len(planned),
        }
        for shipment, (early, late) in zip(planned, times["time_windows"], strict=True):
            if early > late:
                raise RoutingError(
                    f"shipment {shipment.pk}: window {shipment.window_start:%H:%M}-{shipment.window_end:%H:%M} "
                    f"lies outside the shift {shift_start:%H:%M}-{shift_end:%H:%M}"
                )
    problem = RoutingProblem(
        distance=metres,
        demand=demand,
        vehicle_capacity=vehicle_capacity,
        vehicles=vehicles,
        coordinates=[(c[1], c[0]) for c in coords],
        **times,
    )
    solution = solve_routes(problem, seconds=seconds)
    for index in solution.unplanned:
        unplanned.append({"shipment": planned[index].pk, "reason": "not enough vehicles or capacity"})
    for index, late in sorted(solution.late_by.items()):
        unplanned.append(
            {"shipment": planned[index].pk, "reason": f"misses its time window by {math.ceil(late / 60)} min"}
        )
    with transaction.atomic():
        plan = RoutePlan.objects.create(
            location=location,
            date=day,
            vehicle_capacity=vehicle_capacity,
            vehicles_available=vehicles,
            total_distance_km=solution.cost / 1000.0,
            routes_used=len(solution.routes),
            is_feasible=solution.is_feasible and not solution.unplanned,
            solver="pyvrp",
            runtime_seconds=solution.runtime_seconds,
            unplanned=unplanned,
            uses_time_windows=timed,
            shift_start=shift_start if timed else None,
            shift_end=shift_end if timed else None,
            speed_kmh=speed_kmh if timed else None,
            service_minutes=service_minutes if timed else None,
        )
        stops = []
        for number, route in enumerate(solution.routes, start=1):
            previous = 0
            arrivals = solution.arrivals[number - 1]
            for sequence, index in enumerate(route, start=1):
                stops.append(
                    RouteStop(
                        plan=plan,
                        route_number=number,
                        sequence=sequence,
                        shipment=planned[index],
                        latitude=points[index][0],
                        longitude=points[index][1],
                        load=demand[index],
                        distance_from_previous_km=metres[previous, index + 1] / 1000.0,
                        planned_arrival=_clock(arrivals[sequence - 1]) if timed else None,
                    )
                )
                previous = index + 1
        RouteStop.objects.bulk_create(stops)
    logger.info("route plan %s: %d routes, %.1f km", plan.pk, plan.routes_used, plan.total_distance_km)
    return plan

"""Route planning: PyVRP on a tiny instance with a known optimum, and the stored plan of a location's day."""

from datetime import UTC, date, datetime, time

import numpy as np
import pytest

from inventory.models import Allocation
from logistics.ml.routing import RoutingProblem, solve_routes
from logistics.models import RoutePlan
from logistics.routing import RoutingError, route_plan_create
from tests.factories import CustomerFactory, LocationFactory, OrderFactory, OrderLineFactory, ProductFactory

from .factories import ShipmentFactory, ZipAreaFactory


def test_tiny_vrp_reaches_the_known_optimum():
    # Depot at the origin, two clients east and two north (Manhattan distances x10), capacity for two.
    # Optimum: out-and-back along each axis, 2 x 40 = 80; mixing axes costs more.
    points = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2)]
    distance = np.array([[10 * (abs(a[0] - b[0]) + abs(a[1] - b[1])) for b in points] for a in points])
    solution = solve_routes(
        RoutingProblem(distance=distance, demand=[5, 5, 5, 5], vehicle_capacity=10, vehicles=2, coordinates=points),
        seconds=0.3,
    )
    assert solution.cost == 80
    assert solution.is_feasible is True
    assert sorted(sorted(route) for route in solution.routes) == [[0, 1], [2, 3]]
    assert solution.unplanned == []


def test_a_client_larger_than_a_vehicle_is_refused():
    distance = np.zeros((2, 2), dtype=int)
    with pytest.raises(ValueError, match=r"clients \[0\] need more than one vehicle's capacity \(10\)"):
        solve_routes(RoutingProblem(distance=distance, demand=[11], vehicle_capacity=10, vehicles=1), seconds=0.1)


@pytest.mark.django_db
def test_route_plan_for_a_location_and_day_is_stored():
    depot = LocationFactory(code="DEPOT", latitude=-23.55, longitude=-46.63)
    areas = [("01310", -23.56, -46.65), ("04538", -23.59, -46.68), ("02011", -23.51, -46.61)]
    product = ProductFactory(weight_g=2000)
    shipments = []
    for prefix, lat, lng in areas:
        ZipAreaFactory(prefix=prefix, latitude=lat, longitude=lng)
        order = OrderFactory(customer=CustomerFactory(zip_prefix=prefix), shipping_zip_prefix=prefix)
        line = OrderLineFactory(order=order, product=product, quantity=1)
        Allocation.objects.create(order_line=line, location=depot, quantity=1)
        shipments.append(ShipmentFactory(order=order, shipped_at=datetime(2018, 3, 5, 8, tzinfo=UTC)))
    # A shipment of another day stays out.
    ShipmentFactory(order=shipments[0].order, shipped_at=datetime(2018, 3, 6, 8, tzinfo=UTC))

    plan = route_plan_create(location=depot, day=date(2018, 3, 5), vehicle_capacity=4000, vehicles=2, seconds=0.3)

    stops = list(plan.stops.order_by("route_number", "sequence"))
    assert sorted(s.shipment_id for s in stops) == sorted(s.pk for s in shipments)
    assert plan.routes_used == 2  # 3 x 2 kg does not fit one 4 kg vehicle
    assert all(sum(s.load for s in stops if s.route_number == r) <= 4000 for r in (1, 2))
    assert plan.is_feasible is True
    assert plan.total_distance_km == pytest.approx(
        sum(s.distance_from_previous_km for s in stops) + _returns(plan, depot), rel=1e-6
    )


def _returns(plan: RoutePlan, depot) -> float:
    from logistics.ml.geo import haversine_km

    total = 0.0
    for number in {s.route_number for s in plan.stops.all()}:
        last = plan.stops.filter(route_number=number).order_by("-sequence").first()
        total += round(1000 * haversine_km(last.latitude, last.longitude, depot.latitude, depot.longitude)) / 1000
    return total


@pytest.mark.django_db
def test_route_plan_without_shipments_says_so():
    depot = LocationFactory(code="EMPTY", latitude=-23.55, longitude=-46.63)
    with pytest.raises(RoutingError, match="no open shipments from EMPTY on 2018-03-05"):
        route_plan_create(location=depot, day=date(2018, 3, 5), vehicle_capacity=10, vehicles=1)
    assert RoutePlan.objects.count() == 0


@pytest.mark.django_db
def test_route_plan_report_draws_the_routes_and_exports_stops(client, operator_user):
    depot = LocationFactory(code="MAP", latitude=-23.55, longitude=-46.63)
    ZipAreaFactory(prefix="01310", latitude=-23.56, longitude=-46.65)
    order = OrderFactory(customer=CustomerFactory(zip_prefix="01310"), shipping_zip_prefix="01310")
    line = OrderLineFactory(order=order, product=ProductFactory(weight_g=500))
    Allocation.objects.create(order_line=line, location=depot, quantity=1)
    shipment = ShipmentFactory(order=order, shipped_at=datetime(2018, 3, 5, 8, tzinfo=UTC))
    plan = route_plan_create(location=depot, day=date(2018, 3, 5), vehicle_capacity=1000, vehicles=1, seconds=0.2)
    client.force_login(operator_user)
    url = f"/reports/logistics/route-plans/{plan.pk}/"

    page = client.get(url)
    csv = client.get(url, {"format": "csv"}).content.decode().splitlines()

    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    assert (
        csv[0] == "route_number,sequence,shipment_id,latitude,longitude,load,distance_from_previous_km,planned_arrival"
    )
    assert csv[1].startswith(f"1,1,{shipment.pk},-23.56,-46.65,500,")
    assert client.get("/reports/logistics/route-plans/999999/").status_code == 400


def test_time_windows_decide_the_order_of_visits():
    # Depot at 0, client 0 at 10 and client 1 at 20 along a line (durations = distances); client 1 must be
    # served by 25, client 0 not before 50: the only feasible route serves the farther client first.
    points = [(0, 0), (10, 0), (20, 0)]
    distance = np.array([[abs(a[0] - b[0]) for b in points] for a in points])
    windows = [(50, 100), (0, 25)]
    solution = solve_routes(
        RoutingProblem(
            distance=distance,
            demand=[1, 1],
            vehicle_capacity=10,
            vehicles=1,
            time_windows=windows,
            depot_window=(0, 1000),
        ),
        seconds=0.3,
    )
    assert solution.is_feasible is True
    assert solution.routes == [[1, 0]]
    assert solution.cost == 40
    ((first, second),) = solution.arrivals
    assert windows[1][0] <= first <= windows[1][1] and windows[0][0] <= second <= windows[0][1]
    assert second - first >= 10  # travel time between them
    assert solution.late_by == {}


def test_a_window_that_cannot_be_kept_is_reported():
    distance = np.array([[0, 100], [100, 0]])
    solution = solve_routes(
        RoutingProblem(
            distance=distance, demand=[1], vehicle_capacity=5, vehicles=1, time_windows=[(0, 40)], depot_window=(0, 500)
        ),
        seconds=0.2,
    )
    assert solution.is_feasible is False
    assert solution.late_by == {0: 60}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"time_windows": [(0, 5)]}, "time_windows has 1 entries for 2 clients"),
        ({"time_windows": [(0, 5), (9, 3)]}, r"client 1: time window \(9, 3\) must satisfy 0 <= earliest <= latest"),
        ({"duration": np.zeros((2, 2))}, r"duration matrix is \(2, 2\), expected \(3, 3\)"),
        ({"depot_window": (10, 5)}, r"depot window \(10, 5\) must satisfy 0 <= start <= end"),
    ],
)
def test_bad_time_data_is_refused(extra, message):
    problem = RoutingProblem(
        distance=np.zeros((3, 3), dtype=int), demand=[1, 1], vehicle_capacity=5, vehicles=1, **extra
    )
    with pytest.raises(ValueError, match=message):
        solve_routes(problem, seconds=0.1)


def _windowed_day(windows):
    depot = LocationFactory(code="TW", latitude=-23.55, longitude=-46.63)
    areas = [("01310", -23.56, -46.65), ("04538", -23.59, -46.68), ("02011", -23.51, -46.61)]
    product = ProductFactory(weight_g=500)
    shipments = []
    for (prefix, lat, lng), window in zip(areas, windows, strict=True):
        ZipAreaFactory(prefix=prefix, latitude=lat, longitude=lng)
        order = OrderFactory(customer=CustomerFactory(zip_prefix=prefix), shipping_zip_prefix=prefix)
        line = OrderLineFactory(order=order, product=product, quantity=1)
        Allocation.objects.create(order_line=line, location=depot, quantity=1)
        start, end = window or (None, None)
        shipments.append(
            ShipmentFactory(
                order=order, shipped_at=datetime(2018, 3, 5, 8, tzinfo=UTC), window_start=start, window_end=end
            )
        )
    return depot, shipments


@pytest.mark.django_db
def test_route_plan_keeps_the_shipments_time_windows():
    late, early = (time(11, 0), time(11, 30)), (time(8, 10), time(8, 40))
    depot, shipments = _windowed_day([late, None, early])

    plan = route_plan_create(
        location=depot, day=date(2018, 3, 5), vehicle_capacity=10_000, vehicles=1, seconds=0.3, speed_kmh=20
    )

    assert (plan.uses_time_windows, plan.is_feasible, plan.unplanned) == (True, True, [])
    assert (plan.shift_start, plan.shift_end, plan.speed_kmh, plan.service_minutes) == (time(8), time(18), 20, 5)
    stops = {s.shipment_id: s for s in plan.stops.all()}
    assert early[0] <= stops[shipments[2].pk].planned_arrival <= early[1]
    assert late[0] <= stops[shipments[0].pk].planned_arrival <= late[1]
    assert time(8) <= stops[shipments[1].pk].planned_arrival <= time(18)
    order = [s.shipment_id for s in plan.stops.order_by("sequence")]
    assert order.index(shipments[2].pk) < order.index(shipments[0].pk)
    arrivals = [s.planned_arrival for s in plan.stops.order_by("sequence")]
    assert arrivals == sorted(arrivals)


@pytest.mark.django_db
def test_route_plan_without_windows_has_no_times_and_bad_windows_say_why():
    depot, shipments = _windowed_day([None, None, None])
    plan = route_plan_create(location=depot, day=date(2018, 3, 5), vehicle_capacity=10_000, vehicles=1, seconds=0.2)
    assert plan.uses_time_windows is False and plan.shift_start is None
    assert all(s.planned_arrival is None for s in plan.stops.all())

    shipments[0].window_start, shipments[0].window_end = time(19), time(20)
    shipments[0].save()
    with pytest.raises(RoutingError, match=rf"shipment {shipments[0].pk}: window 19:00-20:00 lies outside the shift"):
        route_plan_create(location=depot, day=date(2018, 3, 5), vehicle_capacity=10_000, vehicles=1, seconds=0.2)
    with pytest.raises(RoutingError, match="the shift must end after it starts"):
        route_plan_create(
            location=depot,
            day=date(2018, 3, 5),
            vehicle_capacity=10,
            vehicles=1,
            shift_start=time(9),
            shift_end=time(9),
        )


@pytest.mark.django_db
def test_a_half_open_or_reversed_window_is_a_validation_error():
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    shipment = ShipmentFactory(window_start=time(10))
    with pytest.raises(ValidationError, match="give both ends of the delivery time window, or neither"):
        shipment.full_clean()
    shipment.window_start, shipment.window_end = time(10), time(9)
    with pytest.raises(ValidationError, match="the delivery time window must end after it starts"):
        shipment.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        shipment.save()

"""Capacitated vehicle routing (with optional time windows) solved by PyVRP's iterated local search.

No Django: coordinates, demands and limits in, routes of client indices out. Distances are integers
(PyVRP works on integers): the caller chooses the unit (metres for real maps, rounded Euclidean for CVRPLIB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime


@dataclass(frozen=True)
class RoutingProblem:
    """One depot (index 0 of ``distance``) and clients 1..n with demand and optional time windows."""

    distance: np.ndarray  # (n+1, n+1) integer matrix, depot first
    demand: list[int]
    vehicle_capacity: int
    vehicles: int
    coordinates: list[tuple[float, float]] = field(default_factory=list)  # depot first; for display only
    time_windows: list[tuple[int, int]] | None = None  # per client (earliest, latest arrival), duration unit
    service_duration: list[int] | None = None
    duration: np.ndarray | None = None  # (n+1, n+1) travel times; the distance when not given
    depot_window: tuple[int, int] | None = None  # when vehicles may leave / must be back (the shift)


@dataclass(frozen=True)
class RoutingSolution:
    """Routes as lists of client indices (0-based over ``demand``), total cost and feasibility."""

    routes: list[list[int]]
    cost: int
    is_feasible: bool
    runtime_seconds: float
    unplanned: list[int]
    arrivals: list[list[int]] = field(default_factory=list)  # per route, start of service at each client
    late_by: dict[int, int] = field(default_factory=dict)  # client -> time past its window (infeasible only)


def solve_routes(problem: RoutingProblem, *, seconds: float = 2.0, seed: int = 0) -> RoutingSolution:
    """Solve with PyVRP within ``seconds``; every client must be visited, loads within capacity."""
    n = len(problem.demand)
    if problem.distance.shape != (n + 1, n + 1):
        raise ValueError(f"distance matrix is {problem.distance.shape}, expected {(n + 1, n + 1)}")
    too_big = [i for i, d in enumerate(problem.demand) if d > problem.vehicle_capacity]
    if too_big:
        raise ValueError(f"clients {too_big} need more than one vehicle's capacity ({problem.vehicle_capacity})")
    _check_times(problem)
    model = pyvrp.Model()
    coords = problem.coordinates or [(0.0, 0.0)] * (n + 1)
    locations = [model.add_location(x=float(x), y=float(y)) for x, y in coords]
    shift = {}
    if problem.depot_window is not None:
        shift = {"tw_early": int(problem.depot_window[0]), "tw_late": int(problem.depot_window[1])}
    model.add_depot(locations[0], **shift)
    model.add_vehicle_type(num_available=problem.vehicles, capacity=int(problem.vehicle_capacity), **shift)
    for i in range(n):
        kwargs = {}
        if problem.time_windows is not None:
            kwargs["tw_early"], kwargs["tw_late"] = (int(v) for v in problem.time_windows[i])
        if problem.service_duration is not None:
            kwargs["service_duration"] = int(problem.service_duration[i])
        model.add_client(locations[i + 1], delivery=int(problem.demand[i]), **kwargs)
    matrix = np.asarray(problem.distance, dtype=np.int64)
    durations = matrix if problem.duration is None else np.asarray(problem.duration, dtype=np.int64)
    for a, frm in enumerate(locations):
        for b, to in enumerate(locations):
            if a != b:
                model.add_edge(frm, to, distance=int(matrix[a, b]), duration=int(durations[a, b]))
    result = model.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    best = result.best
    routes, arrivals, late_by = [], [], {}
    for route in best.routes():
        # A client activity's ``idx`` is the client's own 0-based index (the order of ``demand``).
        visits = [activity for activity in route.schedule() if activity.is_client()]
        if not visits:
            continue
        routes.append([activity.idx for activity in visits])
        arrivals.append([int(activity.start_time) for activity in visits])
        late_by.update({activity.idx: int(activity.time_warp) for activity in visits if activity.time_warp > 0})
    visited = {c for r in routes for c in r}
    return RoutingSolution(
        routes=routes,
        cost=int(best.distance()),
        is_feasible=bool(best.is_feasible()),
        runtime_seconds=float(result.runtime),
        unplanned=[i for i in range(n) if i not in visited],
        arrivals=arrivals,
        late_by=late_by,
    )


def _check_times(problem: RoutingProblem) -> None:
    n = len(problem.demand)
    if problem.duration is not None and np.shape(problem.duration) != (n + 1, n + 1):
        raise ValueError(f"duration matrix is {np.shape(problem.duration)}, expected {(n + 1, n + 1)}")
    for name in ("time_windows", "service_duration"):
        values = getattr(problem, name)
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries for {n} clients")
    for i, (early, late) in enumerate(problem.time_windows or []):
        if not 0 <= early <= late:
            raise ValueError(f"client {i}: time window ({early}, {late}) must satisfy 0 <= earliest <= latest")
    if problem.depot_window is not None and not 0 <= problem.depot_window[0] <= problem.depot_window[1]:
        raise ValueError(f"depot window {problem.depot_window} must satisfy 0 <= start <= end")


def solve_cvrplib(path: str, *, seconds: float, seed: int = 0) -> tuple[int, bool]:
    """Solve a CVRPLIB instance file (rounded Euclidean distances, as in the X set); returns (cost, feasible)."""
    data = pyvrp.read(path, round_func="round")
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, display=False)
    return int(result.best.distance()), bool(result.best.is_feasible())

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
    time_windows: list[tuple[int, int]] | None = None  # per client, in the distance's duration unit
    service_duration: list[int] | None = None


@dataclass(frozen=True)
class RoutingSolution:
    """Routes as lists of client indices (0-based over ``demand``), total cost and feasibility."""

    routes: list[list[int]]
    cost: int
    is_feasible: bool
    runtime_seconds: float
    unplanned: list[int]


def solve_routes(problem: RoutingProblem, *, seconds: float = 2.0, seed: int = 0) -> RoutingSolution:
    """Solve with PyVRP within ``seconds``; every client must be visited, loads within capacity."""
    n = len(problem.demand)
    if problem.distance.shape != (n + 1, n + 1):
        raise ValueError(f"distance matrix is {problem.distance.shape}, expected {(n + 1, n + 1)}")
    too_big = [i for i, d in enumerate(problem.demand) if d > problem.vehicle_capacity]
    if too_big:
        raise ValueError(f"clients {too_big} need more than one vehicle's capacity ({problem.vehicle_capacity})")
    model = pyvrp.Model()
    coords = problem.coordinates or [(0.0, 0.0)] * (n + 1)
    locations = [model.add_location(x=float(x), y=float(y)) for x, y in coords]
    model.add_depot(locations[0])
    model.add_vehicle_type(num_available=problem.vehicles, capacity=int(problem.vehicle_capacity))
    for i in range(n):
        kwargs = {}
        if problem.time_windows is not None:
            kwargs["tw_early"], kwargs["tw_late"] = (int(v) for v in problem.time_windows[i])
        if problem.service_duration is not None:
            kwargs["service_duration"] = int(problem.service_duration[i])
        model.add_client(locations[i + 1], delivery=int(problem.demand[i]), **kwargs)
    matrix = np.asarray(problem.distance, dtype=np.int64)
    for a, frm in enumerate(locations):
        for b, to in enumerate(locations):
            if a != b:
                model.add_edge(frm, to, distance=int(matrix[a, b]), duration=int(matrix[a, b]))
    result = model.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    best = result.best
    routes = [[activity.idx for activity in route.schedule() if activity.is_client()] for route in best.routes()]
    routes = [r for r in routes if r]
    visited = {c for r in routes for c in r}
    return RoutingSolution(
        routes=routes,
        cost=int(best.distance()),
        is_feasible=bool(best.is_feasible()),
        runtime_seconds=float(result.runtime),
        unplanned=[i for i in range(n) if i not in visited],
    )


def solve_cvrplib(path: str, *, seconds: float, seed: int = 0) -> tuple[int, bool]:
    """Solve a CVRPLIB instance file (rounded Euclidean distances, as in the X set); returns (cost, feasible)."""
    data = pyvrp.read(path, round_func="round")
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, display=False)
    return int(result.best.distance()), bool(result.best.is_feasible())

"""Profit- (or revenue-) maximising price under business rules, on a constant-elasticity demand curve.

Demand around the current price ``p0`` is ``units(p) = units0 * (p / p0) ** elasticity`` (the log-log model with
cross prices and promotions held at their planned values). Rules turn into an interval of allowed prices, applied
in priority order; a later rule that would empty the interval is reported as a conflict and left out, so a hard
rule (minimum margin) is never broken to satisfy a softer one:

1. ``min_margin``       price >= unit_cost * (1 + min_margin)         (hard)
2. ``price_floor`` / ``price_ceiling``  absolute bounds, if set
3. ``max_step``         |price / current - 1| <= max_step
4. ``competitor_band``  reference * (1 - below) <= price <= reference * (1 + above), reference = lowest competitor
5. ``stock``            overstock: no increase (clear it); scarce stock: no decrease and expected units <= available
6. ``price_ending``     the price ends in the given cents (e.g. 99 -> x.99), inside the interval when possible

Among the allowed prices the optimiser takes the best by the objective; ``binding_rule`` names the rule whose bound
moved the price away from the unconstrained optimum ("optimum" when none did).
No Django imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

OBJECTIVES = ("profit", "revenue")


@dataclass(frozen=True)
class PricingRules:
    """Business rules of a category (see module docstring). Fractions, not percents: 0.1 = 10 %."""

    objective: str = "profit"
    min_margin: float = 0.0
    max_step: float | None = 0.10
    price_ending: str = ""  # "" = cents; "99" -> x.99; "95" -> x.95; "9" -> x.x9
    competitor_below: float | None = None
    competitor_above: float | None = None
    price_floor: float | None = None
    price_ceiling: float | None = None
    overstock_days: float | None = None  # days of cover above which stock is overstock
    scarce_days: float | None = None  # days of cover below which stock is scarce
    period_days: int = 7

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        if self.price_ending and not self.price_ending.isdigit():
            raise ValueError(f"price_ending must be digits such as '99', not {self.price_ending!r}")


@dataclass(frozen=True)
class PricingInput:
    """What is known about one product (at one location) when pricing it."""

    current_price: float
    unit_cost: float
    elasticity: float
    expected_units: float  # at the current price over one period
    competitor_price: float | None = None
    stock_available: float | None = None


@dataclass(frozen=True)
class Outcome:
    price: float
    units: float
    revenue: float
    profit: float


@dataclass(frozen=True)
class Recommendation:
    """The chosen price with expected outcomes at the current and recommended price, the curve and the reason."""

    current: Outcome
    recommended: Outcome
    binding_rule: str
    lower: float
    upper: float
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    curve: tuple[Outcome, ...] = ()

    @property
    def price(self) -> float:
        return self.recommended.price


def outcome(inp: PricingInput, price: float) -> Outcome:
    units = demand(inp, price)
    return Outcome(price=price, units=units, revenue=units * price, profit=units * (price - inp.unit_cost))


def demand(inp: PricingInput, price: float) -> float:
    return inp.expected_units * (price / inp.current_price) ** inp.elasticity


def unconstrained_optimum(*, unit_cost: float, elasticity: float, objective: str = "profit") -> float:
    """Closed form for constant elasticity: profit p* = c·e/(1+e) when e < -1; infinite (or 0) otherwise."""
    if objective == "profit":
        if elasticity < -1:
            return unit_cost * elasticity / (1 + elasticity)
        return math.inf
    # revenue p·q ∝ p^(1+e): increasing in p when e > -1, decreasing when e < -1, flat at -1
    return math.inf if elasticity > -1 else 0.0


def _ending_grid(lower: float, upper: float, ending: str) -> np.ndarray:
    if not ending:
        # cents; hundredths of a cent for unit prices below 1 (e.g. Dominick's $/oz). Built as arrays: a
        # marketplace's catalogue has prices in the thousands, and rounding 20,000 grid points one by one in
        # Python took half of recommending prices for 18k products.
        scale = 100 if lower >= 1 else 10000
        lo, hi = math.ceil(lower * scale - 1e-9), math.floor(upper * scale + 1e-9)
        if hi - lo > 20000:
            return np.round(np.linspace(lo, hi, 20001) / scale, 4)
        return np.arange(lo, hi + 1) / scale  # whole cents (or 1/100 cents) divided exactly: already 4 decimals
    modulus = 10 ** len(ending)
    cents = int(ending)
    unit = modulus / 100  # 99 -> whole units, 9 -> dimes
    start = math.floor(lower / unit) - 1
    stop = math.ceil(upper / unit) + 1
    out = []
    for k in range(start, stop + 1):
        value = round(k * unit + cents / 100, 2)
        if lower - 1e-9 <= value <= upper + 1e-9 and value > 0:
            out.append(value)
    return np.asarray(out, dtype=float)


def optimise_price(inp: PricingInput, rules: PricingRules, *, curve_points: int = 21) -> Recommendation:
    """The best allowed price for ``inp`` under ``rules``."""
    if inp.current_price <= 0:
        raise ValueError("current price must be positive")
    p0 = inp.current_price
    lower, upper = 0.01, math.inf
    owner_lower, owner_upper = "", ""
    bounds: dict[str, tuple[float | None, float | None]] = {}
    conflicts: list[str] = []

    def apply(name: str, lo: float | None, hi: float | None) -> None:
        nonlocal lower, upper, owner_lower, owner_upper
        bounds[name] = (lo, hi)
        new_lower = max(lower, lo) if lo is not None else lower
        new_upper = min(upper, hi) if hi is not None else upper
        if new_lower > new_upper + 1e-12:
            conflicts.append(name)
            return
        if lo is not None and lo > lower:
            lower, owner_lower = lo, name
        if hi is not None and hi < upper:
            upper, owner_upper = hi, name

    apply("min_margin", inp.unit_cost * (1 + rules.min_margin) if inp.unit_cost > 0 else None, None)
    apply("price_bounds", rules.price_floor, rules.price_ceiling)
    if rules.max_step is not None:
        apply("max_step", p0 * (1 - rules.max_step), p0 * (1 + rules.max_step))
    if inp.competitor_price and (rules.competitor_below is not None or rules.competitor_above is not None):
        apply(
            "competitor_band",
            inp.competitor_price * (1 - rules.competitor_below) if rules.competitor_below is not None else None,
            inp.competitor_price * (1 + rules.competitor_above) if rules.competitor_above is not None else None,
        )
    if inp.stock_available is not None and inp.expected_units > 0:
        cover_days = inp.stock_available / inp.expected_units * rules.period_days
        if rules.overstock_days is not None and cover_days > rules.overstock_days:
            apply("stock_overstock", None, p0)
        elif rules.scarce_days is not None and cover_days < rules.scarce_days:
            # no markdown on scarce stock, and do not sell more in a period than there is
            cap = upper if math.isfinite(upper) else p0 * 3
            floor = p0
            if inp.elasticity < 0 and 0 < inp.stock_available < inp.expected_units:
                log_floor = (
                    math.log(p0) + (math.log(inp.stock_available) - math.log(inp.expected_units)) / inp.elasticity
                )
                floor = math.exp(min(log_floor, math.log(cap))) if cap > 0 else p0
            # as high as the other rules allow, never beyond them (no stock at all: simply no markdown)
            apply("stock_scarce", max(min(floor, cap), p0), None)
    if not math.isfinite(upper):
        # an unbounded profit optimum (inelastic demand) still needs a finite search range
        upper = max(lower, p0) * 3
        owner_upper = owner_upper or "search_range"

    target = unconstrained_optimum(unit_cost=inp.unit_cost, elasticity=inp.elasticity, objective=rules.objective)
    grid = _ending_grid(lower, upper, rules.price_ending)
    ending_relaxed = False
    if not len(grid):
        grid = _ending_grid(lower, upper, "")
        ending_relaxed = bool(rules.price_ending)
    if not len(grid):
        # interval narrower than the price resolution (4 decimals): round inside it if possible, else towards the
        # bound of the more important rule
        up, down = math.ceil(lower * 10000 - 1e-9) / 10000, math.floor(upper * 10000 + 1e-9) / 10000
        if up <= upper:
            grid = [up]
        else:
            grid = [down if _PRIORITY.index(owner_upper) < _PRIORITY.index(owner_lower) and down > 0 else up]
    prices = np.asarray(grid, dtype=float)
    units = inp.expected_units * (prices / p0) ** inp.elasticity
    value = units * (prices - inp.unit_cost) if rules.objective == "profit" else units * prices
    # best objective; among (numerically) equal ones the price closest to the current one
    tolerance = 1e-9 * max(1.0, float(np.abs(value).max()))
    candidates = np.flatnonzero(value >= value.max() - tolerance)
    best = outcome(inp, float(prices[candidates[np.argmin(np.abs(prices[candidates] - p0))]]))

    if target < lower - 1e-9 and abs(best.price - lower) <= _step(rules, lower):
        binding = owner_lower
    elif target > upper + 1e-9 and abs(best.price - upper) <= _step(rules, lower):
        binding = owner_upper
    elif rules.price_ending and not ending_relaxed:
        binding = "price_ending" if abs(best.price - target) > 0.005 else "optimum"
    else:
        binding = "optimum"
    if ending_relaxed:
        binding = f"{binding}+price_ending_relaxed"

    low_c, high_c = min(lower, p0) * 0.8, max(upper if math.isfinite(upper) else p0, p0) * 1.2
    curve = tuple(outcome(inp, float(p)) for p in np.linspace(low_c, high_c, curve_points))
    return Recommendation(
        current=outcome(inp, p0),
        recommended=best,
        binding_rule=binding,
        lower=lower,
        upper=upper,
        bounds=bounds,
        conflicts=tuple(conflicts),
        curve=curve,
    )


_PRIORITY = (
    "min_margin",
    "price_bounds",
    "max_step",
    "competitor_band",
    "stock_overstock",
    "stock_scarce",
    "search_range",
    "",
)


def _step(rules: PricingRules, lower: float = 1.0) -> float:
    """How far the grid may sit from a bound and still be 'at' it."""
    if not rules.price_ending:
        return 0.0100001 if lower >= 1 else 0.000100001
    return 10 ** len(rules.price_ending) / 100 + 1e-6


def rule_violations(inp: PricingInput, rules: PricingRules, price: float) -> list[str]:
    """The hard rules ``price`` breaks (used by tests and the simulator benchmark to count violations)."""
    broken = []
    eps = 1e-9
    if inp.unit_cost > 0 and price < inp.unit_cost * (1 + rules.min_margin) - eps:
        broken.append("min_margin")
    if rules.max_step is not None and abs(price / inp.current_price - 1) > rules.max_step + 1e-6:
        broken.append("max_step")
    if rules.price_floor is not None and price < rules.price_floor - eps:
        broken.append("price_floor")
    if rules.price_ceiling is not None and price > rules.price_ceiling + eps:
        broken.append("price_ceiling")
    return broken

"""Replenishment maths: safety stock, reorder point and order-up-to level from quantile forecasts.

Policy: periodic review (every ``review_days`` R) with an order-up-to level S and a reorder point s, over
the protection interval P = L + R days (supplier lead time L plus the review period: an order placed now
must cover demand until the order after it arrives).

Service target. ``service_measure="fill_rate"`` (what the product uses): the share of demand served from
stock, beta. S is the smallest level whose expected shortage over the protection interval is at most
(1 - beta) x the expected demand of one review period (the loss-function method); a 98 % fill rate needs a
much lower cycle service level than 98 % because most cycles end with stock left.
``service_measure="cycle"``: the textbook cycle service level, S = mean + z(level) x sigma_P.

Demand over the protection interval, in order of preference:
- ``error_samples``: the forecast's own errors, measured on its rolling backtest over intervals of the same
  length, standardised as (actual - P50 sum) / (P90 - P10 sum) (see ``interval_forecast`` and
  ``standardised_errors``). Demand = P50 sum + e x spread sum for each sample e: right skew (promotion
  spikes), bias of the median and correlation between periods all come from the data, not from a
  sqrt-of-sum normal assumption.
- otherwise a normal approximation from the quantiles: sigma per period = (P90 - P10) / (2 z_0.9) and the
  mean from Swanson's rule (0.3 P10 + 0.4 P50 + 0.3 P90).
Pooling (``pooled_errors``): one series has too few errors, so they are pooled over products and locations,
each weighted by its interval's scale (the spread it was standardised by). The shortage in units of an item is
its scale x the standardised shortage, so the total shortage of a group planned from one pooled distribution
is the scale-weighted mean of the standardised one: an equal-weight pool understates it whenever the large
intervals (promotion weeks, big sellers) have the heavier tails, and the realised fill rate falls short of the
target. Errors come from forecasts issued in the last ``ERROR_LOOKBACK_DAYS``: errors are correlated across
series within a week (a chain-wide promotion surprises every store at once), so their tails need many weeks,
not many series.
Lead-time variability (sd sigma_L days) adds d x sigma_L x u, u standard normal, to every demand sample
(normal path: sigma_P = sqrt(P sigma_day^2 + d^2 sigma_L^2)).

An order brings the stock position (on hand + on order - backorders) up to S when it is at or below the
reorder point s = S - mean demand of one review period (normal path, cycle: d L + z sqrt(L sigma_day^2 +
d^2 sigma_L^2)) or a review is due; the quantity is then raised to the MOQ and rounded up to whole packs
(never down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

Z90 = float(norm.ppf(0.9))
SERVICE_MEASURES = ("fill_rate", "cycle")
# Lead-time variability enters as stratified standard-normal nodes (deterministic, no random draws).
_LEAD_NODES = norm.ppf((np.arange(15) + 0.5) / 15)
MIN_ERRORS = 20  # fewer backtest errors than this: the normal approximation from the quantiles
ERROR_LOOKBACK_DAYS = 182  # errors of forecasts issued in about the last six months size the safety stock
POOL_POINTS = 400  # a larger pool reaches the policy as this many evenly spaced quantiles


def newsvendor_quantity(*, mean: float, std: float, unit_overage: float, unit_underage: float) -> float:
    """Order-up-to level of the single-period newsvendor with normal demand: mean + z(p/(p+h)) * std."""
    critical = unit_underage / (unit_underage + unit_overage)
    return mean + float(norm.ppf(critical)) * std


def economic_order_quantity(*, order_cost: float, holding_cost: float, demand_rate: float) -> float:
    """Wilson's EOQ: sqrt(2 K lambda / h)."""
    if holding_cost <= 0:
        raise ValueError("holding cost must be positive")
    return math.sqrt(2 * order_cost * demand_rate / holding_cost)


@dataclass(frozen=True)
class ItemInput:
    """One product at one location: its forecast, stock, supplier terms and service target."""

    p10: tuple[float, ...]
    p50: tuple[float, ...]
    p90: tuple[float, ...]
    period_days: int = 1
    on_hand: float = 0
    on_order: float = 0
    backorders: float = 0
    lead_time_days: float = 7
    lead_time_std_days: float = 0
    review_days: float = 7
    service_level: float = 0.95
    service_measure: str = "fill_rate"
    error_samples: tuple[float, ...] = ()
    error_count: int = 0  # how many backtest errors ``error_samples`` stand for (0: their number)
    error_source: str = ""  # where the errors come from, for the reason (e.g. "issued forecasts")
    min_order_qty: int = 1
    pack_size: int = 1
    unit_cost: float | None = None


@dataclass(frozen=True)
class Suggestion:
    """The computed policy levels and the quantity to order now, with a human-readable reason."""

    daily_demand: float
    sigma_daily: float
    sigma_protection: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    position: float
    quantity: int
    days_of_cover: float | None
    stockout_risk: float
    overstock_units: float
    reason: str
    cost: float = 0.0


def interval_weights(n_periods: int, *, period_days: float, days: float) -> np.ndarray:
    """Weight of each of ``n_periods`` forecast periods in the first ``days`` days: 1 for whole periods, the
    covered share for a partly covered last one; days beyond the last period add to its weight."""
    if n_periods == 0 or days <= 0:
        return np.zeros(n_periods)
    periods = days / period_days
    whole = int(math.floor(periods + 1e-9))
    weights = np.zeros(max(n_periods, math.ceil(periods - 1e-9)))
    weights[:whole] = 1.0
    if periods - whole > 1e-9:
        weights[whole] = periods - whole
    extra = weights[n_periods:].sum()
    weights = weights[:n_periods]
    weights[-1] += extra
    return weights


def interval_forecast(p10, p50, p90, *, period_days: float, days: float) -> tuple[float, float, float]:
    """(P50 sum, P90 - P10 spread sum, Swanson mean) over the first ``days`` days of a per-period forecast,
    weighted by ``interval_weights``."""
    p50 = np.asarray(p50, dtype=float)
    if len(p50) == 0 or days <= 0:
        return 0.0, 0.0, 0.0
    p10 = np.asarray(p10, dtype=float)[: len(p50)]
    p90 = np.asarray(p90, dtype=float)[: len(p50)]
    weights = interval_weights(len(p50), period_days=period_days, days=days)
    mean = float(np.dot(weights, 0.3 * p10 + 0.4 * p50 + 0.3 * p90))
    return float(np.dot(weights, p50)), float(np.dot(weights, np.maximum(p90 - p10, 0))), mean


def spread_floor(p50_sum: float, spread_sum: float) -> float:
    """The scale errors are standardised by: the P10-P90 spread, at least 10 % of the median and 1 unit."""
    return max(spread_sum, 0.1 * p50_sum, 1.0)


def interval_errors(actual_sum, p50_sum, spread_sum) -> tuple[np.ndarray, np.ndarray]:
    """Standardised forecast errors of interval demand, (actual - P50 sum) / scale, and the scale of each
    (``spread_floor``), for ``pooled_errors`` (arrays of equal length; intervals with missing actuals, NaN,
    are dropped)."""
    actual_sum, p50_sum, spread_sum = (np.asarray(a, dtype=float) for a in (actual_sum, p50_sum, spread_sum))
    scale = np.maximum.reduce([spread_sum, 0.1 * p50_sum, np.ones_like(p50_sum)])
    e = (actual_sum - p50_sum) / scale
    keep = np.isfinite(e)
    return e[keep], scale[keep]


def standardised_errors(actual_sum, p50_sum, spread_sum) -> np.ndarray:
    """The standardised errors of ``interval_errors`` alone."""
    return interval_errors(actual_sum, p50_sum, spread_sum)[0]


def pooled_errors(errors, scales=None, *, points: int = POOL_POINTS) -> tuple[float, ...]:
    """``error_samples`` from errors pooled over items, each weighted by its interval's scale (see the module
    docstring): the weighted empirical distribution read at ``points`` evenly spaced probabilities (its
    inverse, a step function: no value is invented between two errors). Equal scales and at most ``points``
    errors: the errors themselves."""
    e = np.asarray(errors, dtype=float)
    w = np.ones_like(e) if scales is None else np.asarray(scales, dtype=float)
    keep = np.isfinite(e) & np.isfinite(w) & (w > 0)
    e, w = e[keep], w[keep]
    if len(e) == 0:
        return ()
    if len(e) <= points and np.all(w == w[0]):
        return tuple(float(x) for x in e)
    order = np.argsort(e, kind="stable")
    e, cum = e[order], np.cumsum(w[order])
    probs = (np.arange(points) + 0.5) / points * cum[-1]
    return tuple(float(x) for x in e[np.minimum(np.searchsorted(cum, probs, side="left"), len(e) - 1)])


def _level_for_shortage(values: np.ndarray, allowed: float) -> float:
    """Smallest x >= 0 with mean((values - x)+) <= allowed (the loss function inverted, exactly)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    n = len(v)
    if allowed <= 0:
        return max(float(v[0]), 0.0)
    cum = np.cumsum(v)
    k = np.arange(1, n + 1)
    # loss at x = v[j] is (sum of the j values above it - j * v[j]) / n, increasing with j
    loss_at = (np.concatenate(([0.0], cum[:-1])) - np.arange(n) * v) / n
    j = int(np.searchsorted(loss_at, allowed, side="right"))  # first index whose loss exceeds allowed
    if j == 0:
        return max(float(v[0]), 0.0)
    above = j  # values v[0..j-1] lie above x
    x = (cum[above - 1] - n * allowed) / k[above - 1]
    return max(float(x), 0.0)


def _daily_rates(item: ItemInput, days: float) -> tuple[float, float]:
    """Mean (Swanson's rule) and std of demand per day over the first ``days`` days of the forecast."""
    p50 = np.asarray(item.p50, dtype=float)
    if len(p50) == 0:
        return 0.0, 0.0
    periods = max(1, min(len(p50), math.ceil(days / item.period_days)))
    p10 = np.asarray(item.p10[:periods], dtype=float)
    p90 = np.asarray(item.p90[:periods], dtype=float)
    mean = float((0.3 * p10 + 0.4 * p50[:periods] + 0.3 * p90).mean()) / item.period_days
    sigma_period = (p90 - p10) / (2 * Z90)
    sigma_day = float(np.sqrt(np.mean(np.maximum(sigma_period, 0) ** 2) / item.period_days))
    return mean, sigma_day


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _fill_rate_z(beta: float, review_demand: float, sigma: float) -> float:
    """z with sigma x G(z) = (1 - beta) x review demand, G the standard normal loss function."""
    if sigma <= 0:
        return 0.0
    target = (1 - beta) * review_demand / sigma
    lo, hi = -(target + 10.0), 10.0  # G(z) > -z, so the root lies above -target - 10; G(10) ~ 0
    for _ in range(100):
        mid = (lo + hi) / 2
        g = _pdf(mid) - mid * (1 - _cdf(mid))
        lo, hi = (mid, hi) if g > target else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class _Demand:
    """Demand over the protection interval: empirical samples, or a normal (mean_p, sigma_p)."""

    d: float  # mean per day
    sigma_day: float
    mean_p: float
    sigma_p: float
    sigma_l: float
    samples: np.ndarray | None  # demand samples over the protection interval (None: normal)
    n_errors: int


def _demand(item: ItemInput) -> _Demand:
    lead, review = max(item.lead_time_days, 0.0), max(item.review_days, 0.0)
    protection = lead + review
    d, sigma_day = _daily_rates(item, protection)
    sigma_lt = item.lead_time_std_days
    sigma_p = math.sqrt(protection * sigma_day**2 + d**2 * sigma_lt**2)
    sigma_l = math.sqrt(lead * sigma_day**2 + d**2 * sigma_lt**2)
    errors = np.asarray(item.error_samples, dtype=float)
    errors = errors[np.isfinite(errors)]
    if len(errors) < MIN_ERRORS:
        return _Demand(d, sigma_day, d * protection, sigma_p, sigma_l, None, 0)
    p50_sum, spread_sum, _ = interval_forecast(
        item.p10, item.p50, item.p90, period_days=item.period_days, days=protection
    )
    demand = np.maximum(p50_sum + errors * spread_floor(p50_sum, spread_sum), 0.0)
    d = float(demand.mean()) / protection if protection > 0 else 0.0
    if sigma_lt > 0:
        demand = np.maximum((demand[:, None] + d * sigma_lt * _LEAD_NODES[None, :]).ravel(), 0.0)
    sigma_p = float(demand.std())
    sigma_day = math.sqrt(max(sigma_p**2 - d**2 * sigma_lt**2, 0.0) / protection) if protection > 0 else 0.0
    sigma_l = math.sqrt(lead * sigma_day**2 + d**2 * sigma_lt**2)
    return _Demand(d, sigma_day, float(demand.mean()), sigma_p, sigma_l, demand, item.error_count or len(errors))


def _shortage(dm: _Demand, level: float) -> float:
    """Expected shortage over the protection interval at order-up-to ``level``."""
    if dm.samples is not None:
        return float(np.maximum(dm.samples - level, 0.0).mean())
    if dm.sigma_p <= 0:
        return max(dm.mean_p - level, 0.0)
    z = (level - dm.mean_p) / dm.sigma_p
    return dm.sigma_p * (_pdf(z) - z * (1 - _cdf(z)))


def _quantile(dm: _Demand, alpha: float) -> float:
    if dm.samples is not None:
        return float(np.quantile(dm.samples, alpha))
    return dm.mean_p + float(norm.ppf(alpha)) * dm.sigma_p


def group_cycle_level(items: list[ItemInput]) -> float:
    """The common cycle service level alpha (probability of no stock-out in a cycle, the same for every item)
    at which the items together meet their fill rate: sum of expected shortages = (1 - beta) x sum of
    review-period demand. Equal stock-out probabilities are the least total stock for a fill rate measured
    over the group (the marginal unit of stock saves P(stock-out) units of shortage wherever it is held), so
    a category's target is met with less stock than by giving every item the same fill rate."""
    if not items:
        raise ValueError("no items to plan")
    beta = items[0].service_level
    if any(i.service_level != beta for i in items):
        raise ValueError("a group shares one service level")
    models = [_demand(i) for i in items]
    allowed = (1 - beta) * sum(m.d * max(i.review_days, 0.0) for m, i in zip(models, items, strict=True))
    # Items with demand samples, stacked by sample count: each step of the search takes every item's quantile
    # and expected shortage in one array operation (one np.quantile per item and step made a category of 18k
    # marketplace products take a minute). Same values as per item; summed in the items' order as before.
    blocks: dict[int, list[int]] = {}
    normal = []
    for k, m in enumerate(models):
        if m.samples is not None:
            blocks.setdefault(len(m.samples), []).append(k)
        else:
            normal.append(k)
    stacked = [(np.array(ks), np.vstack([models[k].samples for k in ks])) for ks in blocks.values()]

    def total(alpha: float) -> float:
        shortages = np.empty(len(models))
        for ks, samples in stacked:
            level = np.quantile(samples, alpha, axis=1)
            shortages[ks] = np.maximum(samples - level[:, None], 0.0).mean(axis=1)
        for k in normal:
            shortages[k] = _shortage(models[k], _quantile(models[k], alpha))
        return sum(shortages.tolist())

    lo, hi = 0.5, 0.99999
    if total(lo) <= allowed:
        return lo
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if total(mid) <= allowed else (mid, hi)
    return hi


def suggest_many(
    items: list[ItemInput], *, review_due: bool = True, pooled: bool = True, groups: list | None = None
) -> list[Suggestion]:
    """Suggestions for many items. With ``pooled``, items with a fill-rate target that share a group (``groups``,
    e.g. the category; default: the target itself) meet it together at one cycle service level
    (``group_cycle_level``); otherwise, and for a group of one, each item meets it on its own."""
    if groups is not None and len(groups) != len(items):
        raise ValueError("one group key per item")
    members: dict[tuple, list[int]] = {}
    if pooled:
        for k, item in enumerate(items):
            if item.service_measure == "fill_rate":
                key = (groups[k] if groups is not None else None, item.service_level)
                members.setdefault(key, []).append(k)
    alpha: dict[int, tuple[float, int]] = {}
    for ks in members.values():
        if len(ks) > 1:
            level = group_cycle_level([items[k] for k in ks])
            alpha.update({k: (level, len(ks)) for k in ks})
    return [suggest(item, review_due=review_due, group_level=alpha.get(k)) for k, item in enumerate(items)]


def suggest(item: ItemInput, *, review_due: bool = True, group_level: tuple[float, int] | None = None) -> Suggestion:
    """Policy levels for one item and the order quantity (0 when no order is needed). ``group_level``: the
    (cycle service level, group size) from ``group_cycle_level`` for a fill rate met over a group."""
    if not 0 < item.service_level < 1:
        raise ValueError(f"service level must be between 0 and 1, not {item.service_level}")
    if item.service_measure not in SERVICE_MEASURES:
        raise ValueError(f"service measure must be one of {', '.join(SERVICE_MEASURES)}, not {item.service_measure!r}")
    lead, review = max(item.lead_time_days, 0.0), max(item.review_days, 0.0)
    protection = lead + review
    dm = _demand(item)
    d, sigma_day, sigma_p, sigma_l = dm.d, dm.sigma_day, dm.sigma_p, dm.sigma_l
    sigma_lt = item.lead_time_std_days
    fill = item.service_measure == "fill_rate"
    if dm.samples is None:
        source = "from the forecast quantiles only (no past errors)"
    elif item.error_source:
        source = f"from {dm.n_errors} errors of {item.error_source}"
    else:
        source = f"from {dm.n_errors} backtest errors of the forecast"
    if group_level is not None:
        alpha, size = group_level
        order_up_to = _quantile(dm, alpha)
        how = (
            f"target fill rate {item.service_level:.1%} met over {size} items at a common cycle service level "
            f"{alpha:.1%} {source}"
        )
        reorder_point = order_up_to - d * review
    elif dm.samples is not None:
        if fill:
            allowed = (1 - item.service_level) * d * review
            order_up_to = _level_for_shortage(dm.samples, allowed)
            how = f"target fill rate {item.service_level:.1%}: expected shortage over {protection:g}d at most {allowed:.1f} units, {source}"
        else:
            order_up_to = _quantile(dm, item.service_level)
            how = f"cycle service level {item.service_level:.1%}, {source}"
        reorder_point = order_up_to - d * review
    else:
        if fill:
            z = _fill_rate_z(item.service_level, d * review, sigma_p)
            how = f"target fill rate {item.service_level:.1%} -> z {z:.2f} (normal loss function) {source}"
        else:
            z = float(norm.ppf(item.service_level))
            how = f"cycle service level {item.service_level:.1%} -> z {z:.2f} {source}"
        order_up_to = d * protection + z * sigma_p
        reorder_point = order_up_to - d * review if fill else d * lead + z * sigma_l
    safety = order_up_to - dm.mean_p
    position = item.on_hand + item.on_order - item.backorders
    raw = order_up_to - position
    needs = position <= reorder_point or (review_due and raw > 0)
    quantity = 0
    notes = []
    if needs and raw > 0:
        quantity = math.ceil(raw - 1e-9)
        if quantity < item.min_order_qty:
            notes.append(f"raised {quantity} to the minimum order {item.min_order_qty}")
            quantity = item.min_order_qty
        pack = max(1, item.pack_size)
        packed = math.ceil(quantity / pack) * pack
        if packed != quantity:
            notes.append(f"rounded {quantity} up to {packed // pack} packs of {pack}")
            quantity = packed
    mean_lead = d * lead
    stockout = 1.0 - _cdf((position - mean_lead) / sigma_l) if sigma_l > 0 else float(position < mean_lead)
    cover = position / d if d > 0 else None
    reason = (
        f"forecast {d:.2f}/day (sd {sigma_day:.2f}) over lead time {lead:g}d (sd {sigma_lt:g}d) "
        f"+ review {review:g}d; {how}; safety stock {safety:.1f}, "
        f"reorder point {reorder_point:.1f}, order-up-to {order_up_to:.1f}; position {position:g} "
        f"(on hand {item.on_hand:g} + on order {item.on_order:g} - backorders {item.backorders:g})"
    )
    reason += f": order {quantity}" if quantity else ": no order needed"
    if notes:
        reason += " (" + "; ".join(notes) + ")"
    return Suggestion(
        daily_demand=d,
        sigma_daily=sigma_day,
        sigma_protection=sigma_p,
        safety_stock=safety,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        position=position,
        quantity=quantity,
        days_of_cover=cover,
        stockout_risk=stockout,
        overstock_units=max(position - order_up_to, 0.0),
        reason=reason,
        cost=quantity * (item.unit_cost or 0.0),
    )


def apply_budget(suggestions: list[Suggestion], items: list[ItemInput], budget: float | None) -> list[Suggestion]:
    """Fit orders into a budget: most at-risk items first; an item that does not fit is cut to whole packs
    that do (respecting its MOQ) or dropped, and the reason says so."""
    if budget is None:
        return suggestions
    out = list(suggestions)
    left = float(budget)
    order = sorted(range(len(out)), key=lambda k: (-out[k].stockout_risk, -out[k].quantity))
    for k in order:
        s, item = out[k], items[k]
        if s.quantity == 0:
            continue
        unit = item.unit_cost or 0.0
        if s.quantity * unit <= left + 1e-9:
            left -= s.quantity * unit
            continue
        pack = max(1, item.pack_size)
        affordable = int(left // (unit * pack)) * pack if unit > 0 else s.quantity
        if affordable >= max(item.min_order_qty, 1):
            left -= affordable * unit
            out[k] = replace(
                s, quantity=affordable, cost=affordable * unit, reason=s.reason + f"; cut to {affordable} by the budget"
            )
        else:
            out[k] = replace(s, quantity=0, cost=0.0, reason=s.reason + "; dropped: over the budget")
    return out


MINMAX_BUFFER = 1.5  # the min/max rule's min: average demand until an order can arrive, plus half of it
MINMAX_ORDER_DAYS = 30  # ...and its max: min plus a month of average demand


def minmax_levels(
    recent_daily_mean: float, *, lead_time_days: float, review_days: float, buffer: float = MINMAX_BUFFER
) -> tuple[float, float]:
    """The min/max rule planners type by hand (Odoo reordering rules, ERPNext reorder levels), from the recent
    average demand (e.g. the last four months): min = ``buffer`` x average demand over lead time + review
    period (stock is only looked at every review, so an order placed at min must last until the next one can
    arrive), max = min + a month of average demand. When the stock position is at or below min, order up to
    max."""
    minimum = recent_daily_mean * (lead_time_days + review_days) * buffer
    return minimum, minimum + recent_daily_mean * MINMAX_ORDER_DAYS

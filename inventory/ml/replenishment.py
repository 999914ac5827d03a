"""Replenishment maths: safety stock, reorder point and order-up-to level from quantile forecasts.

Policy: periodic review (every ``review_days``) with an order-up-to level S and a reorder point s. Demand
uncertainty comes from the forecast's own quantiles (sigma per period = (P90 - P10) / (2 * z_0.9)), lead-time
uncertainty from the supplier's lead-time standard deviation; mean demand per period from Swanson's rule
(0.3 P10 + 0.4 P50 + 0.3 P90), which keeps right-skewed (promotion-driven) demand from being understated:

    sigma_P = sqrt(P * sigma_day^2 + d^2 * sigma_L^2)      over the protection interval P = L + R days
    safety stock = z(service level) * sigma_P
    reorder point = d * L + z * sqrt(L * sigma_day^2 + d^2 * sigma_L^2)
    order-up-to  = d * P + safety stock

An order brings the stock position (on hand + on order - backorders) up to S when it is at or below the
reorder point or a review is due; the quantity is then raised to the MOQ and rounded up to whole packs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

Z90 = float(norm.ppf(0.9))


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
    """One product at one location: its forecast, stock and supplier terms."""

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


def _daily_rates(item: ItemInput, days: float) -> tuple[float, float]:
    """Mean and std of demand per day over the first ``days`` days of the forecast."""
    p50 = np.asarray(item.p50, dtype=float)
    if len(p50) == 0:
        return 0.0, 0.0
    periods = max(1, min(len(p50), math.ceil(days / item.period_days)))
    # Swanson's rule: mean ~ 0.3 P10 + 0.4 P50 + 0.3 P90. Demand is right-skewed (promotions), so the median
    # alone would understate the mean and with it every stock level.
    p10 = np.asarray(item.p10[:periods], dtype=float)
    p90 = np.asarray(item.p90[:periods], dtype=float)
    mean = float((0.3 * p10 + 0.4 * p50[:periods] + 0.3 * p90).mean()) / item.period_days
    sigma_period = (p90 - p10) / (2 * Z90)
    sigma_day = float(np.sqrt(np.mean(np.maximum(sigma_period, 0) ** 2) / item.period_days))
    return mean, sigma_day


def suggest(item: ItemInput, *, review_due: bool = True) -> Suggestion:
    """Policy levels for one item and the order quantity (0 when no order is needed)."""
    if not 0 < item.service_level < 1:
        raise ValueError(f"service level must be between 0 and 1, not {item.service_level}")
    lead, review = max(item.lead_time_days, 0.0), max(item.review_days, 0.0)
    protection = lead + review
    d, sigma_day = _daily_rates(item, protection)
    z = float(norm.ppf(item.service_level))
    sigma_p = math.sqrt(protection * sigma_day**2 + d**2 * item.lead_time_std_days**2)
    sigma_l = math.sqrt(lead * sigma_day**2 + d**2 * item.lead_time_std_days**2)
    safety = z * sigma_p
    reorder_point = d * lead + z * sigma_l
    order_up_to = d * protection + safety
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
    stockout = 1.0 - float(norm.cdf((position - mean_lead) / sigma_l)) if sigma_l > 0 else float(position < mean_lead)
    cover = position / d if d > 0 else None
    reason = (
        f"forecast {d:.2f}/day (sd {sigma_day:.2f}) over lead time {lead:g}d (sd {item.lead_time_std_days:g}d) "
        f"+ review {review:g}d; service level {item.service_level:.0%} -> z {z:.2f}, safety stock {safety:.1f}, "
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


def minmax_levels(recent_daily_mean: float, *, lead_time_days: float, review_days: float) -> tuple[float, float]:
    """The min/max rule planners type by hand (Odoo/ERPNext style): min = average demand over lead time plus
    half of it as buffer, max = min plus one review period and a month of average demand."""
    minimum = recent_daily_mean * lead_time_days * 1.5
    maximum = minimum + recent_daily_mean * (review_days + 30)
    return minimum, maximum

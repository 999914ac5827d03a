"""Replenishment maths: textbook checks and exact policy levels on hand-made inputs."""

import math

import pytest
from scipy.stats import norm

from inventory.ml.replenishment import (
    Z90,
    ItemInput,
    apply_budget,
    economic_order_quantity,
    newsvendor_quantity,
    suggest,
)


def test_newsvendor_textbook():
    # h = 2, p = 18, demand N(120, 10): critical ratio 0.9 -> 120 + 1.28155 * 10
    assert newsvendor_quantity(mean=120, std=10, unit_overage=2, unit_underage=18) == pytest.approx(132.8155, abs=1e-4)


def test_eoq_textbook():
    assert economic_order_quantity(order_cost=8, holding_cost=0.225, demand_rate=1300) == pytest.approx(
        304.05, abs=0.01
    )


def _item(**kwargs):
    # 10/day with P10-P90 = +-Z90*2 -> sigma 2 per day
    base = dict(p10=(10 - 2 * Z90,) * 30, p50=(10.0,) * 30, p90=(10 + 2 * Z90,) * 30, period_days=1)
    base.update(kwargs)
    return ItemInput(**base)


def test_levels_from_forecast_quantiles_and_lead_time_variability():
    item = _item(lead_time_days=4, lead_time_std_days=1, review_days=5, service_level=0.95, on_hand=20)
    s = suggest(item)
    z = norm.ppf(0.95)
    sigma_p = math.sqrt(9 * 4 + 100 * 1)
    assert s.daily_demand == pytest.approx(10)
    assert s.sigma_daily == pytest.approx(2)
    assert s.safety_stock == pytest.approx(z * sigma_p)
    assert s.reorder_point == pytest.approx(40 + z * math.sqrt(4 * 4 + 100))
    assert s.order_up_to == pytest.approx(90 + z * sigma_p)
    assert s.quantity == math.ceil(90 + z * sigma_p - 20)
    assert s.days_of_cover == pytest.approx(2.0)
    assert s.stockout_risk == pytest.approx(1 - norm.cdf((20 - 40) / math.sqrt(116)))


def test_moq_and_pack_size_round_up_and_are_explained():
    s = suggest(_item(lead_time_days=1, review_days=1, on_hand=15, min_order_qty=12, pack_size=5, service_level=0.5))
    # order-up-to = 20 (z = 0), position 15 -> raw 5 -> MOQ 12 -> 3 packs of 5
    assert s.quantity == 15
    assert "minimum order 12" in s.reason and "3 packs of 5" in s.reason


def test_no_order_when_position_covers_the_order_up_to_level():
    s = suggest(_item(lead_time_days=2, review_days=2, on_hand=100, service_level=0.9))
    assert s.quantity == 0 and s.overstock_units == pytest.approx(100 - (40 + norm.ppf(0.9) * 4))
    assert s.reason.endswith("no order needed")


def test_budget_goes_to_the_riskiest_item_first():
    risky = _item(lead_time_days=3, review_days=3, on_hand=0, unit_cost=1.0, service_level=0.5)
    calm = _item(lead_time_days=3, review_days=3, on_hand=50, unit_cost=1.0, service_level=0.5, pack_size=4)
    items = [calm, risky]
    suggestions = [suggest(i) for i in items]
    assert [s.quantity for s in suggestions] == [12, 60]  # 60 - 50 = 10 -> 3 packs of 4
    budgeted = apply_budget(suggestions, items, budget=65)
    assert [s.quantity for s in budgeted] == [4, 60]
    assert "cut to 4 by the budget" in budgeted[0].reason


def test_invalid_service_level_is_rejected():
    with pytest.raises(ValueError, match="service level"):
        suggest(_item(service_level=1.0))

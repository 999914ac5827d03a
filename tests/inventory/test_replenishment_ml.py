"""Replenishment maths: textbook checks and exact policy levels on hand-made inputs."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from inventory.ml.replenishment import (
    Z90,
    ItemInput,
    apply_budget,
    economic_order_quantity,
    group_cycle_level,
    interval_errors,
    interval_forecast,
    minmax_levels,
    newsvendor_quantity,
    pooled_errors,
    standardised_errors,
    suggest,
    suggest_many,
)


def test_newsvendor_textbook():
    # h = 2, p = 18, demand N(120, 10): critical ratio 0.9 -> 120 + 1.28155 * 10
    assert newsvendor_quantity(mean=120, std=10, unit_overage=2, unit_underage=18) == pytest.approx(132.8155, abs=1e-4)


def test_eoq_textbook():
    assert economic_order_quantity(order_cost=8, holding_cost=0.225, demand_rate=1300) == pytest.approx(
        304.05, abs=0.01
    )


def _item(**kwargs):
    # 10/day with P10-P90 = +-Z90*2 -> sigma 2 per day; the textbook checks below use a cycle service level
    base = dict(
        p10=(10 - 2 * Z90,) * 30, p50=(10.0,) * 30, p90=(10 + 2 * Z90,) * 30, period_days=1, service_measure="cycle"
    )
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


def test_fill_rate_target_uses_the_normal_loss_function():
    # beta = 0.98 over review 5d: expected shortage per cycle sigma_P * G(z) = 0.02 * 10 * 5 = 1 unit
    item = _item(lead_time_days=4, lead_time_std_days=1, review_days=5, service_level=0.98, service_measure="fill_rate")
    s = suggest(item)
    sigma_p = math.sqrt(9 * 4 + 100 * 1)
    z = brentq(lambda z: sigma_p * (norm.pdf(z) - z * norm.sf(z)) - 1.0, -5, 5)
    assert s.safety_stock == pytest.approx(z * sigma_p, abs=1e-6)
    assert s.order_up_to == pytest.approx(90 + z * sigma_p, abs=1e-6)
    assert s.reorder_point == pytest.approx(s.order_up_to - 50, abs=1e-6)
    # a 98% fill rate needs less than a 98% cycle service level: z is below z(0.98) = 2.05
    assert z < norm.ppf(0.98)
    assert "target fill rate 98.0%" in s.reason and "forecast quantiles only (no past errors)" in s.reason


def test_fill_rate_from_backtest_errors_meets_the_shortage_exactly():
    # P50 sum over 2 weekly periods = 200, spread sum = 100 -> demand samples 200 + 100 e
    errors = tuple(np.linspace(-1.0, 3.0, 41))
    item = ItemInput(
        p10=(80.0, 80.0), p50=(100.0, 100.0), p90=(130.0, 130.0), period_days=7, lead_time_days=7, review_days=7,
        service_level=0.95, error_samples=errors, on_hand=150,
    )  # fmt: skip
    s = suggest(item)
    demand = 200 + 100 * np.array(errors)
    mean_daily = demand.mean() / 14
    assert s.daily_demand == pytest.approx(mean_daily)
    # expected shortage at S equals 5% of one review period's mean demand
    shortage = np.maximum(demand - s.order_up_to, 0).mean()
    assert shortage == pytest.approx(0.05 * mean_daily * 7, rel=1e-9)
    assert s.safety_stock == pytest.approx(s.order_up_to - demand.mean())
    assert s.reorder_point == pytest.approx(s.order_up_to - mean_daily * 7)
    assert s.quantity == math.ceil(s.order_up_to - 150)
    assert "41 backtest errors" in s.reason
    # lead-time variability widens the distribution: a higher level for the same fill rate
    assert suggest(ItemInput(**{**item.__dict__, "lead_time_std_days": 2})).order_up_to > s.order_up_to
    # a larger fill-rate target never lowers the level
    assert suggest(ItemInput(**{**item.__dict__, "service_level": 0.99})).order_up_to > s.order_up_to


def test_interval_forecast_counts_a_partial_period_pro_rata():
    p50_sum, spread_sum, mean = interval_forecast((1, 2, 3), (2, 4, 6), (4, 8, 12), period_days=7, days=10.5)
    assert p50_sum == pytest.approx(2 + 4 * 0.5)
    assert spread_sum == pytest.approx(3 + 6 * 0.5)
    assert mean == pytest.approx((0.3 * 1 + 0.8 + 1.2) + 0.5 * (0.6 + 1.6 + 2.4))
    # days past the last period repeat it
    assert interval_forecast((1,), (2,), (4,), period_days=7, days=14)[0] == pytest.approx(4)


def test_standardised_errors_drop_missing_and_floor_the_scale():
    e = standardised_errors([130, np.nan, 5], [100, 100, 0], [20, 20, 0])
    assert e.tolist() == pytest.approx([1.5, 5.0])  # the third has scale 1 (no spread, no median)


def test_unknown_service_measure_is_rejected():
    with pytest.raises(ValueError, match="service measure"):
        suggest(_item(service_measure="ready_rate"))


def test_a_group_meets_its_fill_rate_together_at_one_cycle_level():
    errors = tuple(np.linspace(-1.0, 3.0, 41))
    common = dict(period_days=7, lead_time_days=7, review_days=7, service_level=0.98, error_samples=errors)
    steady = ItemInput(p10=(90.0, 90.0), p50=(100.0, 100.0), p90=(110.0, 110.0), **common)  # spread 40
    erratic = ItemInput(p10=(20.0, 20.0), p50=(100.0, 100.0), p90=(220.0, 220.0), **common)  # spread 400
    alpha = group_cycle_level([steady, erratic])
    both = suggest_many([steady, erratic])
    demand = [np.maximum(200 + spread * np.array(errors), 0) for spread in (40, 400)]  # no negative demand
    for s, d in zip(both, demand, strict=True):
        assert s.order_up_to == pytest.approx(np.quantile(d, alpha))
        assert f"common cycle service level {alpha:.1%}" in s.reason
    shortage = sum(np.maximum(d - s.order_up_to, 0).mean() for s, d in zip(both, demand, strict=True))
    allowed = 0.02 * sum(d.mean() / 14 * 7 for d in demand)
    assert shortage == pytest.approx(allowed, rel=1e-6)
    # the same fill rate costs less stock than each item meeting it alone
    alone = [suggest(steady), suggest(erratic)]
    assert sum(s.order_up_to for s in both) < sum(s.order_up_to for s in alone)
    # items with other targets or groups are planned apart; a group of one plans alone
    split = suggest_many([steady, erratic], groups=["a", "b"])
    assert [s.order_up_to for s in split] == pytest.approx([s.order_up_to for s in alone])
    with pytest.raises(ValueError, match="one group key per item"):
        suggest_many([steady], groups=["a", "b"])


def test_interval_errors_return_the_scale_they_divide_by():
    e, scale = interval_errors([130, np.nan, 5, 150], [100, 100, 0, 100], [20, 20, 0, 5])
    assert e.tolist() == pytest.approx([1.5, 5.0, 5.0])
    assert scale.tolist() == [20.0, 1.0, 10.0]  # spread; 1 unit; 10 % of the median


def test_pooled_errors_weight_each_error_by_its_scale():
    # weights 1, 1, 1, 5 (total 8) read at 8 evenly spaced probabilities: the last error five times
    assert pooled_errors([3.0, 0.0, 2.0, 1.0], [5, 1, 1, 1], points=8) == (0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0)
    # equal scales and few errors: the errors themselves; missing errors dropped
    assert pooled_errors([0.5, np.nan, -1.0], [2, 2, 2]) == (0.5, -1.0)
    assert pooled_errors([0.5, -1.0]) == (0.5, -1.0)
    # more errors than points: evenly spaced order statistics
    assert pooled_errors(np.arange(10.0), points=4) == (1.0, 3.0, 6.0, 8.0)
    assert pooled_errors([], []) == ()


def _weekly(p50, spread, errors):
    # two weekly periods over lead 7d + review 7d: P50 sum 2 p50, scale 2 spread (>= 10 % of the median)
    return ItemInput(
        p10=(p50 - spread / 2,) * 2, p50=(p50,) * 2, p90=(p50 + spread / 2,) * 2, period_days=7, lead_time_days=7,
        review_days=7, service_level=0.95, error_samples=errors,
    )  # fmt: skip


def test_scale_weighted_pool_meets_the_fill_rate_of_a_group_whose_large_items_err_more():
    """A small item (scale 10) with light errors and a large one (scale 100) with a heavy right tail, one past
    interval each: planned together from the scale-weighted pool, their true expected shortage (each over its
    own errors) is exactly the allowed 5 % of their true review-period demand; an equal-weight pool falls short."""
    e_small, e_large = np.array([-0.5, 0.0, 0.5, 1.0]), np.array([-0.5, 0.0, 1.0, 4.0])
    errors = np.concatenate([e_small, e_large])
    scales = np.array([10.0] * 4 + [100.0] * 4)
    true_demand = [100 + 10 * e_small, 1000 + 100 * e_large]
    allowed = 0.05 * sum(d.mean() / 2 for d in true_demand)  # review = half the protection interval

    def true_shortage(pool):
        plans = suggest_many([_weekly(50, 5, pool), _weekly(500, 50, pool)])
        return sum(np.maximum(d - s.order_up_to, 0).mean() for s, d in zip(plans, true_demand, strict=True))

    # 440 points: every small error once, every large one ten times (weights 10 and 100)
    assert true_shortage(pooled_errors(errors, scales, points=44)) == pytest.approx(allowed, rel=1e-6)
    assert true_shortage(pooled_errors(errors)) > 1.5 * allowed


def test_minmax_rule_covers_lead_time_and_review_with_a_buffer_and_orders_a_month():
    assert minmax_levels(10, lead_time_days=7, review_days=7) == pytest.approx((210, 510))
    assert minmax_levels(10, lead_time_days=0, review_days=7, buffer=2) == pytest.approx((140, 440))

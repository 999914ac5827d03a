"""The price optimiser: closed-form optimum on a known demand curve, and each rule binding in a crafted case."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.ml.optimiser import (
    PricingInput,
    PricingRules,
    optimise_price,
    outcome,
    rule_violations,
    unconstrained_optimum,
)

FREE = PricingRules(objective="profit", min_margin=0.0, max_step=None)


def make_input(**overrides) -> PricingInput:
    values = dict(current_price=10.0, unit_cost=6.0, elasticity=-3.0, expected_units=100.0)
    values.update(overrides)
    return PricingInput(**values)


@pytest.mark.parametrize(("cost", "elasticity"), [(6.0, -3.0), (4.0, -2.0), (2.5, -1.5), (10.0, -4.0)])
def test_unconstrained_profit_optimum_is_the_closed_form(cost, elasticity):
    # given constant elasticity e and cost c, p* = c·e/(1+e)
    expected = cost * elasticity / (1 + elasticity)
    inp = make_input(unit_cost=cost, elasticity=elasticity, current_price=round(expected * 1.1, 2))
    rec = optimise_price(inp, FREE)
    assert unconstrained_optimum(unit_cost=cost, elasticity=elasticity) == pytest.approx(expected)
    assert rec.price == pytest.approx(expected, abs=0.005)
    assert rec.binding_rule == "optimum"


def test_expected_outcomes_at_current_and_recommended_price():
    inp = make_input()
    rec = optimise_price(inp, FREE)
    assert rec.current == outcome(inp, 10.0)
    assert rec.current.units == pytest.approx(100.0)
    assert rec.current.revenue == pytest.approx(1000.0)
    assert rec.current.profit == pytest.approx(400.0)
    assert rec.recommended.price == pytest.approx(9.0)
    assert rec.recommended.units == pytest.approx(100 * 0.9**-3)
    assert rec.recommended.profit == pytest.approx(100 * 0.9**-3 * 3.0)
    assert len(rec.curve) == 21


def test_min_margin_binds():
    # optimum 9.00 but a 60% markup over cost 6 requires at least 9.60
    rec = optimise_price(make_input(), PricingRules(min_margin=0.6, max_step=None))
    assert rec.price == pytest.approx(9.60)
    assert rec.binding_rule == "min_margin"


def test_max_step_binds_both_ways():
    down = optimise_price(make_input(current_price=12.0), PricingRules(max_step=0.05))
    assert down.price == pytest.approx(11.40)
    assert down.binding_rule == "max_step"
    # inelastic demand: profit rises without limit, the step caps the increase
    up = optimise_price(make_input(elasticity=-0.5), PricingRules(max_step=0.10))
    assert up.price == pytest.approx(11.00)
    assert up.binding_rule == "max_step"


def test_competitor_band_binds():
    rules = PricingRules(max_step=None, competitor_below=0.05, competitor_above=0.05)
    rec = optimise_price(make_input(elasticity=-0.8, competitor_price=10.0), rules)
    assert rec.price == pytest.approx(10.50)
    assert rec.binding_rule == "competitor_band"


def test_price_ending_binds_and_is_respected():
    rules = PricingRules(max_step=None, price_ending="99")
    rec = optimise_price(make_input(unit_cost=6.1), rules)  # optimum 9.15
    assert rec.price == pytest.approx(8.99)
    assert rec.binding_rule == "price_ending"
    assert round(rec.price * 100) % 100 == 99


def test_overstock_forbids_increase():
    rules = PricingRules(max_step=0.2, overstock_days=28)
    # 10 periods of stock (70 days of cover) and inelastic demand that would otherwise raise the price 20%
    rec = optimise_price(make_input(elasticity=-0.7, stock_available=1000.0), rules)
    assert rec.price == pytest.approx(10.00)
    assert rec.binding_rule == "stock_overstock"


def test_scarce_stock_forbids_markdown_and_caps_units_at_stock():
    rules = PricingRules(max_step=0.5, scarce_days=14)
    # optimum would be 9.00 (units 137); only 50 units are left: price must sell at most 50 in the period
    rec = optimise_price(make_input(stock_available=50.0), rules)
    expected_floor = 10 * (50 / 100) ** (1 / -3.0)
    assert rec.price == pytest.approx(math.ceil(expected_floor * 100) / 100)
    assert rec.recommended.units <= 50.0
    assert rec.binding_rule == "stock_scarce"


def test_revenue_objective_lowers_price_for_elastic_demand():
    rec = optimise_price(make_input(), PricingRules(objective="revenue", min_margin=0.1, max_step=0.5))
    # revenue of e=-3 grows as price falls: the min margin (6.60) stops it before the step (5.00)
    assert rec.price == pytest.approx(6.60)
    assert rec.binding_rule == "min_margin"


def test_conflicting_rule_never_breaks_the_hard_margin():
    # competitor at 5 would force a price below cost + 10%: the competitor band is reported as a conflict
    rules = PricingRules(min_margin=0.10, max_step=None, competitor_above=0.05)
    inp = make_input(competitor_price=5.0)
    rec = optimise_price(inp, rules)
    assert rec.conflicts == ("competitor_band",)
    assert rec.price == pytest.approx(9.0)
    assert rule_violations(inp, rules, rec.price) == []


def test_rule_violations_are_detected():
    rules = PricingRules(min_margin=0.10, max_step=0.05)
    inp = make_input()
    assert rule_violations(inp, rules, 6.5) == ["min_margin", "max_step"]
    assert rule_violations(inp, rules, 10.4) == []


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="objective"):
        PricingRules(objective="volume")
    with pytest.raises(ValueError, match="price_ending"):
        PricingRules(price_ending=".99")


@settings(max_examples=300, deadline=None)
@given(
    price=st.floats(0.5, 200),
    cost_share=st.floats(0.1, 1.2),
    elasticity=st.floats(-5, -0.2),
    min_margin=st.floats(0, 0.5),
    max_step=st.one_of(st.none(), st.floats(0.01, 0.5)),
    ending=st.sampled_from(["", "99", "95", "9"]),
    competitor=st.one_of(st.none(), st.floats(0.3, 3)),
    band=st.floats(0, 0.3),
    objective=st.sampled_from(["profit", "revenue"]),
    stock=st.one_of(st.none(), st.floats(0, 2000)),
)
def test_hard_rules_are_never_broken_unless_reported_as_conflict(
    price, cost_share, elasticity, min_margin, max_step, ending, competitor, band, objective, stock
):
    rules = PricingRules(
        objective=objective,
        min_margin=min_margin,
        max_step=max_step,
        price_ending=ending,
        competitor_below=band if competitor else None,
        competitor_above=band if competitor else None,
        overstock_days=60,
        scarce_days=10,
    )
    inp = PricingInput(
        current_price=price,
        unit_cost=price * cost_share,
        elasticity=elasticity,
        expected_units=100.0,
        competitor_price=price * competitor if competitor else None,
        stock_available=stock,
    )
    rec = optimise_price(inp, rules)
    # min margin is applied first, so it can never be the conflicting one
    assert "min_margin" not in rule_violations(inp, rules, rec.price)
    assert set(rule_violations(inp, rules, rec.price)) <= set(rec.conflicts)
    # prices are stored with 4 decimals: an interval narrower than that is rounded towards the stronger rule
    assert rec.lower - 1e-4 <= rec.price <= rec.upper + 1e-4
    if ending and "relaxed" not in rec.binding_rule:
        assert f"{rec.price:.2f}".endswith(ending)
    assert rec.binding_rule


def test_scarce_stock_so_small_that_the_stock_to_demand_ratio_underflows():
    # Found by the property test above: 5e-324 / 100 is 0.0 in floating point, whose log is undefined.
    rules = PricingRules(overstock_days=60, scarce_days=10)
    inp = PricingInput(current_price=10.0, unit_cost=5.0, elasticity=-2.0, expected_units=100.0, stock_available=5e-324)
    rec = optimise_price(inp, rules)
    assert rec.price >= 10.0
    assert not rule_violations(inp, rules, rec.price)

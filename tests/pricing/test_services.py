"""Services: training stores elasticities, recommendations obey the rules, decisions are audited and applied once."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from ecomops.models import ModelVersion
from pricing import services
from pricing.ml.optimiser import PricingInput, rule_violations
from pricing.models import (
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    PricingRule,
)
from pricing.selectors import price_in_force, pricing_rule_for, pricing_rules_as_ml
from tests.factories import CategoryFactory, LocationFactory, ProductFactory

from .factories import (
    CompetitorPriceFactory,
    PriceHistoryFactory,
    PriceRecommendationFactory,
    PricingRuleFactory,
    load_simulated_market,
)


@pytest.fixture
def market(db):
    return load_simulated_market()


@pytest.fixture
def trained(market):
    return services.price_response_train(as_of=date(2024, 1, 1), select=False)


def test_training_uses_only_data_before_as_of_and_stores_every_elasticity(trained, market):
    assert trained.as_of == date(2024, 1, 1)
    assert trained.data_end.date() == date(2023, 12, 25)  # last Monday before 2024-01-01
    assert trained.status == ModelVersion.Status.ACTIVE
    estimates = ElasticityEstimate.objects.filter(model_version=trained)
    assert estimates.filter(location__isnull=True).count() == 4
    assert estimates.filter(location__isnull=False).count() == 12
    assert all(e.low < e.elasticity < e.high for e in estimates)
    assert trained.metrics["products"] == 4
    assert trained.metrics["series"] == 12


def test_training_without_history_is_refused(db):
    with pytest.raises(services.PricingError, match="not enough sales history"):
        services.price_response_train(as_of=date(2024, 1, 1), select=False)
    assert ModelVersion.objects.count() == 0


def test_recommendations_obey_the_category_rules(trained, market):
    rule = PricingRuleFactory(min_margin=Decimal("0.20"), max_step=Decimal("0.05"), price_ending="9")
    run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert len(run.created) == 12
    assert run.skipped == []
    ml_rules = pricing_rules_as_ml(rule)
    for rec in PriceRecommendation.objects.all():
        inp = PricingInput(
            current_price=float(rec.current_price),
            unit_cost=float(rec.unit_cost),
            elasticity=rec.elasticity,
            expected_units=rec.expected_units_current,
        )
        assert rule_violations(inp, ml_rules, float(rec.recommended_price)) == []
        assert rec.status == PriceRecommendation.Status.PROPOSED
        assert rec.model_version == trained
        assert rec.elasticity_low < rec.elasticity < rec.elasticity_high
        assert len(rec.demand_curve) == 21
        assert rec.expected_profit >= rec.expected_profit_current - 1e-9 or rec.binding_rule != "optimum"


def test_new_run_supersedes_open_proposals(trained, market):
    services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert PriceRecommendation.objects.filter(status="proposed").count() == 12
    assert PriceRecommendation.objects.filter(status="superseded").count() == 12


def test_product_without_cost_gets_the_rules_assumed_cost_and_is_marked(trained, market):
    from catalog.models import Product

    Product.objects.filter(sku="SIM-000").update(unit_cost=None)
    PricingRule.objects.create(assumed_cost_share=Decimal("0.55"))
    run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert len(run.created) == 12 and run.skipped == []
    for rec in PriceRecommendation.objects.filter(status="proposed"):
        if rec.product.sku == "SIM-000":
            assert rec.cost_assumed is True
            assert rec.unit_cost == (rec.current_price * Decimal("0.55")).quantize(Decimal("0.0001"))
        else:
            assert rec.cost_assumed is False and rec.unit_cost == rec.product.unit_cost


def test_product_without_cost_is_skipped_with_reason_when_the_rule_assumes_none(trained, market):
    from catalog.models import Product

    Product.objects.filter(sku="SIM-000").update(unit_cost=None)
    PricingRule.objects.create(assumed_cost_share=None)
    run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert len(run.created) == 9
    reason = "no unit cost (and no assumed cost share in its rule)"
    assert sorted(run.skipped) == [("SIM-000", f"LOC-{i}", reason) for i in range(3)]


def test_price_in_force_falls_back_to_the_last_price_an_order_paid(db):
    """A marketplace (Olist) records prices only on order lines: the last one paid before the day counts."""
    from datetime import UTC, datetime

    from orders.models import Order
    from tests.factories import OrderFactory, OrderLineFactory

    product = ProductFactory(list_price=None)
    for day, price, status in (
        (1, "10.00", Order.Status.DELIVERED),
        (3, "12.50", Order.Status.DELIVERED),
        (4, "99.00", Order.Status.CANCELED),
        (6, "14.00", Order.Status.DELIVERED),
    ):
        order = OrderFactory(purchased_at=datetime(2018, 3, day, 12, tzinfo=UTC), status=status)
        OrderLineFactory(order=order, product=product, unit_price=Decimal(price))
    assert price_in_force(product=product, location=None, on=date(2018, 2, 28)) is None
    assert price_in_force(product=product, location=None, on=date(2018, 3, 2)) == Decimal("10.00")
    assert price_in_force(product=product, location=None, on=date(2018, 3, 5)) == Decimal("12.50")
    assert price_in_force(product=product, location=None, on=date(2018, 3, 6)) == Decimal("14.00")


@pytest.mark.django_db
def test_approve_applies_a_planned_price_and_audits(operator_user):
    rec = PriceRecommendationFactory()
    result = services.price_recommendation_approve(recommendation_id=rec.pk, user=operator_user, reason="ok")
    assert result.status == PriceRecommendation.Status.APPLIED
    assert result.decided_by == operator_user
    price = result.applied_price
    assert (price.product, price.location, price.price, price.effective_from, price.source) == (
        rec.product,
        rec.location,
        Decimal("9.0000"),
        date(2030, 6, 3),
        PriceHistory.Source.RECOMMENDATION,
    )
    audits = list(PriceChangeAudit.objects.order_by("pk").values_list("action", "from_price", "to_price", "changed_by"))
    assert audits == [
        ("approved", Decimal("10.0000"), Decimal("9.0000"), operator_user.pk),
        ("applied", Decimal("10.00"), Decimal("9.0000"), operator_user.pk),
    ]
    assert price_in_force(product=rec.product, location=rec.location, on=date(2030, 6, 3)) == Decimal("9.0000")


@pytest.mark.django_db
def test_second_approval_is_refused_and_creates_no_second_price(operator_user):
    rec = PriceRecommendationFactory()
    services.price_recommendation_approve(recommendation_id=rec.pk, user=operator_user)
    with pytest.raises(services.RecommendationStateError, match="is applied"):
        services.price_recommendation_approve(recommendation_id=rec.pk, user=operator_user)
    assert PriceHistory.objects.count() == 1
    assert PriceChangeAudit.objects.count() == 2


@pytest.mark.django_db
def test_reject_needs_a_reason_and_changes_nothing_without(operator_user):
    rec = PriceRecommendationFactory()
    with pytest.raises(services.PricingError, match="reason is required"):
        services.price_recommendation_reject(recommendation_id=rec.pk, user=operator_user, reason=" ")
    rec.refresh_from_db()
    assert rec.status == PriceRecommendation.Status.PROPOSED
    assert PriceChangeAudit.objects.count() == 0
    services.price_recommendation_reject(recommendation_id=rec.pk, user=operator_user, reason="too steep")
    rec.refresh_from_db()
    assert (rec.status, rec.reason, rec.decided_by) == ("rejected", "too steep", operator_user)
    assert list(PriceChangeAudit.objects.values_list("action", "reason")) == [("rejected", "too steep")]
    assert PriceHistory.objects.count() == 0
    with pytest.raises(services.RecommendationStateError):
        services.price_recommendation_approve(recommendation_id=rec.pk, user=operator_user)
    assert PriceHistory.objects.count() == 0


@pytest.mark.django_db
def test_manual_price_change_is_audited_with_the_replaced_price(operator_user):
    product = ProductFactory()
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    services.price_plan(
        product=product,
        location=None,
        price=Decimal("11.50"),
        effective_from=date(2024, 3, 1),
        user=operator_user,
        reason="cost up",
    )
    audit = PriceChangeAudit.objects.get()
    assert (audit.action, audit.from_price, audit.to_price, audit.reason) == (
        "manual",
        Decimal("10.00"),
        Decimal("11.50"),
        "cost up",
    )
    assert price_in_force(product=product, location=None, on=date(2024, 2, 29)) == Decimal("10.00")
    assert price_in_force(product=product, location=None, on=date(2024, 3, 1)) == Decimal("11.50")


@pytest.mark.django_db
def test_competitor_price_opens_alert_beyond_threshold():
    category = CategoryFactory()
    PricingRuleFactory(category=category, alert_threshold=Decimal("0.10"))
    product = ProductFactory(category=category)
    PriceHistoryFactory(product=product, price=Decimal("12.00"), effective_from=date(2024, 1, 1))
    observed = timezone.make_aware(timezone.datetime(2024, 2, 1, 12))
    close, _ = services.competitor_price_record(
        product=product, competitor="a", price=Decimal("11.50"), observed_at=observed
    )
    far, _ = services.competitor_price_record(
        product=product, competitor="b", price=Decimal("10.00"), observed_at=observed
    )
    cheap, _ = services.competitor_price_record(
        product=product, competitor="c", price=Decimal("14.00"), observed_at=observed
    )
    alerts = {a.competitor_price_id: a for a in CompetitorPriceAlert.objects.all()}
    assert set(alerts) == {far.pk, cheap.pk}
    assert (alerts[far.pk].direction, alerts[far.pk].gap) == ("above", Decimal("0.2000"))
    assert (alerts[cheap.pk].direction, alerts[cheap.pk].gap) == ("below", Decimal("-0.1429"))


@pytest.mark.django_db
def test_competitor_reference_is_the_cheapest_latest_observation():
    from pricing.selectors import competitor_reference_price

    product = ProductFactory()
    now = timezone.make_aware(timezone.datetime(2024, 2, 10, 12))
    CompetitorPriceFactory(product=product, competitor="a", price=Decimal("8.00"), observed_at=now - timedelta(days=5))
    CompetitorPriceFactory(product=product, competitor="a", price=Decimal("9.50"), observed_at=now - timedelta(days=1))
    CompetitorPriceFactory(product=product, competitor="b", price=Decimal("9.00"), observed_at=now - timedelta(days=2))
    CompetitorPriceFactory(product=product, competitor="c", price=Decimal("5.00"), observed_at=now - timedelta(days=60))
    assert competitor_reference_price(product=product, before=date(2024, 2, 11)) == Decimal("9.00")


@pytest.mark.django_db
def test_rule_lookup_falls_back_to_default_then_built_in():
    category, other = CategoryFactory(), CategoryFactory()
    assert pricing_rule_for(category=category).pk is None
    default = PricingRuleFactory(category=None, min_margin=Decimal("0.05"))
    own = PricingRuleFactory(category=category)
    assert pricing_rule_for(category=category) == own
    assert pricing_rule_for(category=other) == default


@pytest.mark.django_db
def test_location_price_overrides_everywhere_price():
    product, store = ProductFactory(), LocationFactory()
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    PriceHistoryFactory(product=product, location=store, price=Decimal("9.00"), effective_from=date(2024, 1, 5))
    assert price_in_force(product=product, location=store, on=date(2024, 1, 4)) == Decimal("10.00")
    assert price_in_force(product=product, location=store, on=date(2024, 1, 5)) == Decimal("9.00")
    assert price_in_force(product=product, location=None, on=date(2024, 1, 5)) == Decimal("10.00")


def test_planned_display_raises_expected_units(trained, market):
    from pricing.models import Promotion

    base = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained, skus=["SIM-001"])
    units_before = {r.location.code: r.expected_units_current for r in base.created}
    from catalog.models import Product
    from inventory.models import Location

    Promotion.objects.create(
        product=Product.objects.get(sku="SIM-001"),
        location=Location.objects.get(code="LOC-1"),
        kind="display",
        starts_on=date(2024, 1, 1),
        ends_on=date(2024, 1, 7),
    )
    promoted = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained, skus=["SIM-001"])
    units_after = {r.location.code: r.expected_units_current for r in promoted.created}
    assert units_after["LOC-0"] == pytest.approx(units_before["LOC-0"])
    assert units_after["LOC-2"] == pytest.approx(units_before["LOC-2"])
    # exactly the series' display lift of the model (the simulator's true lift is +0.35; estimated on 52 weeks)
    from ecomops.registry import model_version_load

    _, coefficients = model_version_load(version=trained).coefficients("SIM-001", "LOC-1")
    assert np.log(units_after["LOC-1"] / units_before["LOC-1"]) == pytest.approx(coefficients["display"])
    assert 0.1 < coefficients["display"] < 0.7


@pytest.mark.django_db
def test_changing_our_price_opens_and_closes_alerts_against_recent_competitor_prices():
    category = CategoryFactory()
    PricingRuleFactory(category=category, alert_threshold=Decimal("0.10"))
    product = ProductFactory(category=category)
    today = timezone.localdate()
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=today - timedelta(days=60))
    observation, _ = services.competitor_price_record(
        product=product, competitor="a", price=Decimal("10.00"), observed_at=timezone.now() - timedelta(days=2)
    )
    assert not CompetitorPriceAlert.objects.exists()

    services.price_plan(product=product, location=None, price=Decimal("12.50"), effective_from=today)
    alert = CompetitorPriceAlert.objects.get()
    assert (alert.competitor_price, alert.direction, alert.gap, alert.our_price) == (
        observation,
        "above",
        Decimal("0.2500"),
        Decimal("12.5000"),
    )

    services.price_plan(product=product, location=None, price=Decimal("10.50"), effective_from=today)
    assert not CompetitorPriceAlert.objects.filter(status="open").exists()


@pytest.mark.django_db
def test_a_planned_future_price_does_not_raise_alerts_today():
    category = CategoryFactory()
    PricingRuleFactory(category=category, alert_threshold=Decimal("0.10"))
    product = ProductFactory(category=category)
    today = timezone.localdate()
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=today - timedelta(days=60))
    services.competitor_price_record(
        product=product, competitor="a", price=Decimal("10.00"), observed_at=timezone.now() - timedelta(days=1)
    )
    services.price_plan(
        product=product, location=None, price=Decimal("15.00"), effective_from=today + timedelta(days=7)
    )
    assert not CompetitorPriceAlert.objects.exists()


@pytest.mark.django_db
def test_prices_in_force_of_many_series_take_each_series_own_fallback_in_one_call():
    """One call, every level of the chain: location row, expired location row (-> everywhere row), everywhere
    row, last shelf price at the location or anywhere, list price, last price an order paid, nothing."""
    from datetime import UTC, datetime

    from inventory.models import SalesObservation
    from orders.models import Order
    from pricing.selectors import prices_in_force
    from tests.factories import OrderFactory, OrderLineFactory

    on = date(2024, 3, 10)
    store, other = LocationFactory(), LocationFactory()
    local = ProductFactory(list_price=Decimal("99.00"))
    PriceHistoryFactory(product=local, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    PriceHistoryFactory(product=local, location=store, price=Decimal("9.00"), effective_from=date(2024, 3, 1))
    PriceHistoryFactory(product=local, location=store, price=Decimal("8.00"), effective_from=date(2024, 3, 11))
    expired = ProductFactory(list_price=Decimal("99.00"))
    PriceHistoryFactory(product=expired, price=Decimal("20.00"), effective_from=date(2024, 1, 1))
    PriceHistoryFactory(
        product=expired,
        location=store,
        price=Decimal("18.00"),
        effective_from=date(2024, 2, 1),
        effective_to=date(2024, 3, 1),
    )
    shelf = ProductFactory(list_price=Decimal("99.00"))
    for location, period, price in (
        (store, date(2024, 3, 4), 3.10),
        (other, date(2024, 2, 26), 3.30),
        (store, date(2024, 2, 26), 2.90),
        (other, date(2024, 3, 11), 9.99),
    ):
        SalesObservation.objects.create(
            product=shelf, location=location, period_start=period, units=5, price=Decimal(str(price))
        )
    listed = ProductFactory(list_price=Decimal("5.00"))
    paid = ProductFactory(list_price=None)
    for day, price, status in (
        (1, "7.00", Order.Status.DELIVERED),
        (5, "7.50", Order.Status.DELIVERED),
        (6, "70.00", Order.Status.CANCELED),
    ):
        order = OrderFactory(purchased_at=datetime(2024, 3, day, 12, tzinfo=UTC), status=status)
        OrderLineFactory(order=order, product=paid, unit_price=Decimal(price))
    unknown = ProductFactory(list_price=None)

    series = [
        (local, store),
        (local, other),
        (local, None),
        (expired, store),
        (shelf, store),
        (shelf, other),
        (shelf, None),
        (listed, store),
        (paid, store),
        (paid, None),
        (unknown, store),
    ]
    prices = prices_in_force(series=series, on=on)

    assert {(p.pk, loc.pk if loc else None): prices[(p.pk, loc.pk if loc else None)] for p, loc in series} == {
        (local.pk, store.pk): Decimal("9.00"),
        (local.pk, other.pk): Decimal("10.00"),
        (local.pk, None): Decimal("10.00"),
        (expired.pk, store.pk): Decimal("20.00"),
        (shelf.pk, store.pk): Decimal("3.10"),
        (shelf.pk, other.pk): Decimal("3.30"),
        (shelf.pk, None): Decimal("3.10"),
        (listed.pk, store.pk): Decimal("5.00"),
        (paid.pk, store.pk): Decimal("7.50"),
        (paid.pk, None): Decimal("7.50"),
        (unknown.pk, store.pk): None,
    }
    for product, location in series:  # the one-series read agrees
        assert (
            price_in_force(product=product, location=location, on=on)
            == prices[(product.pk, location.pk if location else None)]
        )


def test_recommending_prices_reads_the_same_number_of_queries_for_one_series_or_all(trained, market):
    """The reads each series needs are made for all series together (18k Olist products took most of an hour
    one series at a time)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        single = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained, skus=["SIM-000"])
    with CaptureQueriesContext(connection) as every:
        run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert (len(single.created), len(run.created)) == (3, 12)
    assert len(every.captured_queries) <= len(one.captured_queries) + 2  # the rule of a second category, at most


def test_a_series_whose_elasticity_is_not_identified_gets_no_recommendation(market):
    """A product selling one unit in every week it sells, at prices from 8 to 12: its interval spans demand
    falling and rising with price, and the optimum would be "as high as the step rule allows" for that reason
    alone. It is skipped with the reason; the other series are recommended as before."""
    from catalog.models import Category
    from inventory.models import Location, SalesObservation

    store = Location.objects.get(code="LOC-0")
    flat = ProductFactory(sku="FLAT", category=Category.objects.get(name="juice"), unit_cost=Decimal("5.00"))
    prices = [8, 9, 10, 11, 12, 10] * 4
    SalesObservation.objects.bulk_create(
        [
            SalesObservation(
                product=flat,
                location=store,
                period_start=date(2023, 1, 2) + timedelta(weeks=2 * i),
                units=1.0,
                price=Decimal(price),
            )
            for i, price in enumerate(prices)
        ]
    )
    version = services.price_response_train(as_of=date(2024, 1, 1), select=False)
    run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=version)

    assert len(run.created) == 12
    ((sku, code, reason),) = run.skipped
    assert (sku, code) == ("FLAT", "LOC-0")
    assert reason.startswith("elasticity not identified: 95% interval [")
    assert reason.endswith("is wider than 2 and does not exclude demand rising with price")


def test_a_series_without_a_price_in_force_is_skipped_under_its_own_name(trained, market):
    from catalog.models import Product
    from inventory.models import SalesObservation

    Product.objects.filter(sku="SIM-001").update(list_price=None)
    PriceHistory.objects.filter(product__sku="SIM-001").delete()
    SalesObservation.objects.filter(product__sku="SIM-001").update(price=None)
    run = services.price_recommendations_create(as_of=date(2024, 1, 1), version=trained)
    assert sorted(run.skipped) == [("SIM-001", f"LOC-{i}", "no price in force") for i in range(3)]
    assert len(run.created) == 9

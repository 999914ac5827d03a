"""Replenishment through Django: suggestions from forecast rows, draft purchase orders, approval, API, report."""

import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from scipy.optimize import brentq
from scipy.stats import norm

from ecomops.registry import ModelSpec, TrainedModel, model_version_activate, model_version_register
from inventory.ml.replenishment import pooled_errors
from inventory.models import (
    DemandForecast,
    Location,
    PurchaseOrder,
    ReplenishmentSuggestion,
    SalesObservation,
    ServiceLevelTarget,
    StockLevel,
    Supplier,
    SupplierProduct,
)
from inventory.replenishment import (
    ReplenishmentError,
    purchase_orders_approve,
    purchase_orders_create_from_suggestions,
    replenishment_suggest,
)
from tests.factories import ProductFactory

AS_OF = date(2024, 3, 4)
Z90 = 1.2815515655446004


@pytest.fixture
def setup(db):
    """One product at one warehouse: forecast 10/day with sigma 2/day, 12 on hand, a supplier (lead 3d)."""
    spec = ModelSpec(name="demand", primary_metric="mase")
    version = model_version_register(spec=spec, trained=TrainedModel(algorithm="t", artifact={}, metrics={"mase": 1}))
    model_version_activate(version=version)
    product = ProductFactory(sku="OJ-1", unit_cost=Decimal("2.00"))
    ServiceLevelTarget.objects.create(category=product.category, target=Decimal("0.98"))
    location = Location.objects.create(code="WH1")
    supplier = Supplier.objects.create(code="S1", name="Juice Co", lead_time_days=3, lead_time_std_days=0)
    SupplierProduct.objects.create(supplier=supplier, product=product, pack_size=6, min_order_qty=12)
    StockLevel.objects.create(product=product, location=location, on_hand=12)
    for k in range(14):
        DemandForecast.objects.create(
            product=product, location=location, model_version=version, as_of=AS_OF,
            period_start=AS_OF + timedelta(days=k), period_days=1, horizon_step=k + 1,
            p10=10 - 2 * Z90, p50=10, p90=10 + 2 * Z90,
        )  # fmt: skip
    return product, location, supplier, version


def _fill_rate_z(sigma, allowed):
    return brentq(lambda z: sigma * (norm.pdf(z) - z * norm.sf(z)) - allowed, -10, 10)


# No earlier forecasts: the normal approximation. Fill rate 98% over a 4-day review of 10/day: expected
# shortage per cycle 0.02 * 40 = 0.8 units with sigma over 7 days = 2 * sqrt(7).
Z98 = _fill_rate_z(2 * math.sqrt(7), 0.8)
ORDER_UP_TO = 70 + Z98 * 2 * math.sqrt(7)  # 73.4


def test_suggestion_levels_quantity_and_reason(setup):
    product, location, supplier, version = setup
    [s] = replenishment_suggest(as_of=AS_OF, review_days=4)
    assert s.order_up_to == pytest.approx(ORDER_UP_TO, abs=1e-6)
    assert s.safety_stock == pytest.approx(ORDER_UP_TO - 70, abs=1e-6)
    assert s.reorder_point == pytest.approx(ORDER_UP_TO - 40, abs=1e-6)
    # position 12 -> 61.4 -> 62 -> 11 packs of 6
    assert s.quantity == 66 and s.service_level == pytest.approx(0.98)
    assert s.supplier == supplier and s.model_version == version and s.on_hand == 12
    assert "11 packs of 6" in s.reason and "target fill rate 98.0%" in s.reason
    assert s.days_of_cover == pytest.approx(1.2)


def _weekly_product(setup, old, sku, when, quantiles, units):
    """Another product of the category planned weekly: an earlier forecast by ``old`` issued ``when`` for that
    week with ``quantiles`` (P10, P50, P90), ``units`` sold that week (and a sale on the as-of date, which
    must not count), and two weeks forecast by the active version from the as-of date."""
    product, location, supplier, version = setup
    other = ProductFactory(sku=sku, category=product.category)
    SupplierProduct.objects.create(supplier=supplier, product=other)
    p10, p50, p90 = quantiles
    DemandForecast.objects.create(
        product=other, location=location, model_version=old, as_of=when, period_start=when, period_days=7,
        horizon_step=1, p10=p10, p50=p50, p90=p90,
    )  # fmt: skip
    SalesObservation.objects.create(product=other, location=location, period_start=when, units=units)
    SalesObservation.objects.create(product=other, location=location, period_start=AS_OF, units=10_000)
    for step in range(2):
        DemandForecast.objects.create(
            product=other, location=location, model_version=version, as_of=AS_OF,
            period_start=AS_OF + timedelta(days=7 * step), period_days=7, horizon_step=step + 1,
            p10=p10, p50=p50, p90=p90,
        )  # fmt: skip
    return other


def test_safety_stock_from_earlier_forecasts_errors(setup):
    """25 other products, each with one earlier weekly forecast (P50 100, spread 50) and the week observed
    at 100 + 10 k: standardised errors 0.2 k, pooled for every item. A forecast whose week ends after the
    as-of date, and sales on or after it, do not count."""
    product, location, supplier, version = setup
    spec = ModelSpec(name="demand", primary_metric="mase")
    old = model_version_register(spec=spec, trained=TrainedModel(algorithm="t", artifact={}, metrics={"mase": 1}))
    issued = AS_OF - timedelta(days=14)
    for k in range(26):
        when = issued if k < 25 else AS_OF - timedelta(days=3)  # the last one is not observed yet
        _weekly_product(setup, old, f"W-{k}", when, (80, 100, 130), 100 + 10 * k)
    suggestions = {s.product.sku: s for s in replenishment_suggest(as_of=AS_OF, review_days=4)}
    assert len(suggestions) == 27
    # protection 3 + 4 = 7 days = one weekly period: demand samples 100 + 50 * 0.2 k, k = 0..24; OJ-1 (daily,
    # P50 sum 70, spread sum 7 * 4 * Z90) gets the same pooled errors
    errors = 0.2 * np.arange(25)
    samples = {f"W-{k}": 100 + 50 * errors for k in range(26)} | {"OJ-1": 70 + 7 * 4 * Z90 * errors}
    for sku, demand in samples.items():
        assert suggestions[sku].daily_demand == pytest.approx(demand.mean() / 7)
        assert "25 errors of issued forecasts" in suggestions[sku].reason
        assert "met over 27 items at a common cycle service level" in suggestions[sku].reason
    # the category's target is met together: total expected shortage = 2% of total review-period demand
    shortage = sum(np.maximum(samples[sku] - s.order_up_to, 0).mean() for sku, s in suggestions.items())
    allowed = 0.02 * sum(s.daily_demand * 4 for s in suggestions.values())
    assert shortage == pytest.approx(allowed, rel=1e-6)
    assert suggestions["W-0"].order_up_to == suggestions["W-25"].order_up_to
    assert suggestions["W-0"].quantity == math.ceil(suggestions["W-0"].order_up_to)


def test_pooled_errors_are_weighted_by_their_intervals_scale(setup):
    """Ten small products (spread 10) forecast right and ten large ones (spread 200) under-forecast by
    0.5 k spreads: the pool weights each error by its scale, so the large errors dominate it."""
    product, location, supplier, version = setup
    spec = ModelSpec(name="demand", primary_metric="mase")
    old = model_version_register(spec=spec, trained=TrainedModel(algorithm="t", artifact={}, metrics={"mase": 1}))
    issued = AS_OF - timedelta(days=14)
    for k in range(10):
        _weekly_product(setup, old, f"S-{k}", issued, (95, 100, 105), 100)
        _weekly_product(setup, old, f"L-{k}", issued, (400, 500, 600), 500 + 100 * k)
    suggestions = {s.product.sku: s for s in replenishment_suggest(as_of=AS_OF, review_days=4)}
    errors = np.concatenate([np.zeros(10), 0.5 * np.arange(10)])
    pool = np.array(pooled_errors(errors, [10] * 10 + [200] * 10))
    # error 0 weighs 10 x 10 + 200 (L-0) = 300 of 2,100: 57 of the 400 points
    assert len(pool) == 400 and (pool == 0).sum() == 57
    assert suggestions["OJ-1"].daily_demand == pytest.approx((70 + 7 * 4 * Z90 * pool.mean()) / 7)
    assert suggestions["L-0"].daily_demand == pytest.approx((500 + 200 * pool.mean()) / 7)
    assert pool.mean() > errors.mean()
    assert "20 errors of issued forecasts" in suggestions["OJ-1"].reason


def test_draft_purchase_order_then_approval(setup, operator_user):
    replenishment_suggest(as_of=AS_OF, review_days=4)
    result = purchase_orders_create_from_suggestions(
        suggestions=ReplenishmentSuggestion.objects.all(), user=operator_user
    )
    [order] = result.orders
    assert order.status == PurchaseOrder.Status.DRAFT and order.created_by == operator_user
    assert [(line.product.sku, line.quantity) for line in order.lines.all()] == [("OJ-1", 66)]
    assert ReplenishmentSuggestion.objects.get().status == ReplenishmentSuggestion.Status.ORDERED
    # a second attempt orders nothing twice
    again = purchase_orders_create_from_suggestions(suggestions=ReplenishmentSuggestion.objects.all())
    assert again.orders == [] and [why for _, why in again.skipped] == ["already on a purchase order"]
    # the open order now counts as on order: recomputing leaves the ordered suggestion alone
    assert purchase_orders_approve(orders=PurchaseOrder.objects.all(), user=operator_user) == 1
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.APPROVED and order.approved_by == operator_user
    assert order.approved_at is not None


def test_open_orders_count_in_the_position(setup):
    product, location, supplier, _ = setup
    po = PurchaseOrder.objects.create(number="PO-X", supplier=supplier, location=location)
    po.lines.create(product=product, quantity=40)
    [s] = replenishment_suggest(as_of=AS_OF, review_days=4)
    assert s.on_order == 40 and s.quantity == 24  # 73.4 - 52 -> 22 -> MOQ 12 ok -> 4 packs of 6


def test_no_active_model_is_a_clear_error(db):
    with pytest.raises(ReplenishmentError, match="no active demand model"):
        replenishment_suggest(as_of=AS_OF)


def test_api_lists_forecasts_and_suggestions_and_starts_training(setup, api_client):
    response = api_client.get("/api/v1/forecasts/", {"sku": "OJ-1", "period_start_to": "2024-03-05"})
    assert response.status_code == 200
    assert [(r["period_start"], r["p50"], r["model_version_number"]) for r in response.json()["results"]] == [
        ("2024-03-04", 10.0, 1),
        ("2024-03-05", 10.0, 1),
    ]
    assert api_client.post("/api/v1/replenishment/compute/", {"as_of": "2024-03-04"}).json() == {
        "suggestions": 1,
        "to_order": 1,
    }
    [row] = api_client.get("/api/v1/replenishment/").json()["results"]
    created = api_client.post("/api/v1/replenishment/create-purchase-orders/", {"ids": [row["id"], 999999]})
    assert created.status_code == 201
    assert created.json()["skipped"] == [{"id": 999999, "reason": "not found"}]
    bad = api_client.post("/api/v1/forecasts/train/", {"horizon": 0})
    assert bad.status_code == 400 and "horizon" in bad.json()
    # (the job's task is sent on commit, which the test transaction never reaches)
    started = api_client.post("/api/v1/forecasts/train/", {"as_of": "2024-03-04", "horizon": 14})
    assert started.status_code == 202
    from ecomops.models import JobRun

    job = JobRun.objects.get(pk=started.json()["job_id"])
    assert job.kind == "train:demand" and job.parameters == {"as_of": "2024-03-04", "horizon": 14}


def test_reports_render_with_csv(setup, client, operator_user):
    replenishment_suggest(as_of=AS_OF, review_days=4)
    client.force_login(operator_user)
    page = client.get(reverse("inventory_reports:replenishment"))
    assert page.status_code == 200 and b"OJ-1" in page.content and b"<svg" in page.content
    csv = client.get(reverse("inventory_reports:replenishment"), {"format": "csv"})
    assert csv.content.decode().splitlines()[0].startswith("sku,location,status,on_hand")
    chart = client.get(reverse("inventory_reports:forecast"), {"sku": "OJ-1", "location": "WH1"})
    assert chart.status_code == 200 and b"<svg" in chart.content
    assert client.get(reverse("inventory_reports:forecast"), {"sku": "nope", "location": "WH1"}).status_code == 400


def test_admin_actions_are_registered(db):
    assert "approve_purchase_orders" in [getattr(a, "__name__", a) for a in site._registry[PurchaseOrder].actions]
    assert "create_purchase_orders" in [
        getattr(a, "__name__", a) for a in site._registry[ReplenishmentSuggestion].actions
    ]


def test_recomputing_a_day_replaces_open_suggestions_in_place_and_leaves_ordered_ones(setup, operator_user):
    [first] = replenishment_suggest(as_of=AS_OF, review_days=4)
    ReplenishmentSuggestion.objects.filter(pk=first.pk).update(quantity=999, reason="stale")

    [again] = replenishment_suggest(as_of=AS_OF, review_days=4)
    stored = ReplenishmentSuggestion.objects.get()
    assert (again.pk, stored.pk) == (first.pk, first.pk)
    assert (stored.quantity, stored.reason, stored.created_at) == (first.quantity, first.reason, first.created_at)

    purchase_orders_create_from_suggestions(suggestions=ReplenishmentSuggestion.objects.all(), user=operator_user)
    ReplenishmentSuggestion.objects.filter(pk=first.pk).update(reason="as ordered")
    [kept] = replenishment_suggest(as_of=AS_OF, review_days=4)
    assert kept.pk == first.pk
    assert (kept.status, kept.reason) == (ReplenishmentSuggestion.Status.ORDERED, "as ordered")
    assert ReplenishmentSuggestion.objects.get().reason == "as ordered"


def test_recomputing_from_the_admin_is_a_job_that_writes_the_suggestions(setup, client, operator_user):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    from ecomops.jobs import job_create, job_run
    from ecomops.models import JobRun

    [existing] = replenishment_suggest(as_of=AS_OF, review_days=4)
    client.force_login(operator_user)
    response = client.post(
        reverse("admin:inventory_replenishmentsuggestion_changelist"),
        {"action": "compute_suggestions", ACTION_CHECKBOX_NAME: [existing.pk]},
        follow=True,
    )
    assert response.status_code == 200
    job = JobRun.objects.get(kind="plan:replenishment")
    assert (job.requested_via, job.requested_by) == ("admin", operator_user)
    assert f"job {job.pk}" in response.content.decode()

    done = job_run(job_id=job_create(kind="plan:replenishment", parameters={"as_of": AS_OF.isoformat()}).pk)
    assert done.state == JobRun.State.SUCCEEDED, done.error
    assert done.result == {"suggestions": 1, "with_quantity": 1}
    failed = job_run(job_id=job_create(kind="plan:replenishment", parameters={"as_of": "2031-01-01"}).pk)
    assert failed.state == JobRun.State.FAILED
    assert "has no forecast on or after 2031-01-01" in failed.error

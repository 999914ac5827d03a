"""The replenishment's first error pool: a fresh install's suggestions are sized by the errors of the demand
version's own training backtest (stored in its artifact) until enough issued forecasts have been observed."""

from datetime import date, timedelta

import numpy as np
import pytest

from ecomops.registry import ModelSpec, TrainedModel, model_version_activate, model_version_register
from inventory.ml.replenishment import pooled_errors
from inventory.models import DemandForecast, Location, Supplier, SupplierProduct
from inventory.replenishment import backtest_error_samples, replenishment_suggest
from tests.factories import ProductFactory

AS_OF = date(2024, 3, 4)
SPEC = ModelSpec(name="demand", primary_metric="mase")
N = 24  # products forecast weekly, each with one backtest series


def _fold(series_ids, p10, p50, p90, actual):
    """An artifact's backtest part: every series forecast (p10, p50, p90) per period over the fold."""
    actual = np.asarray(actual, dtype=np.float32)
    full = {q: np.broadcast_to(np.asarray(v, dtype=np.float32)[:, None], actual.shape) for q, v in
            (("p10", p10), ("p50", p50), ("p90", p90))}  # fmt: skip
    return {"series_ids": series_ids, "start": AS_OF - timedelta(days=91), "actual": actual, **full}


@pytest.fixture
def products(db):
    """N products at one warehouse, lead time 3 days, each forecast one week ahead (80, 100, 130)."""
    location = Location.objects.create(code="WH1")
    supplier = Supplier.objects.create(code="S1", name="Juice Co", lead_time_days=3, lead_time_std_days=0)
    out = []
    for k in range(N):
        product = ProductFactory(sku=f"P-{k:02d}")
        SupplierProduct.objects.create(supplier=supplier, product=product)
        out.append(product)
    return out, location


def _version(products, location, artifact):
    version = model_version_register(spec=SPEC, trained=TrainedModel(algorithm="t", artifact=artifact, metrics={}))
    model_version_activate(version=version)
    for product in products:
        DemandForecast.objects.create(
            product=product, location=location, model_version=version, as_of=AS_OF, period_start=AS_OF,
            period_days=7, horizon_step=1, p10=80, p50=100, p90=130,
        )  # fmt: skip
    return version


def _artifact(products, location):
    """Weekly fold of 13 weeks: product k forecast (80, 100, 130) each week, or (400, 500, 600) for odd k,
    observed at P50 + 10 k + j in week j (product 0: week 0 only); plus a series of another location and one
    of a product not suggested."""
    ids = [f"{p.pk}:{location.pk}" for p in products] + [f"{products[0].pk}:{location.pk + 99}", "999999:1"]
    p50 = np.array([500.0 if k % 2 else 100.0 for k in range(N)] + [100.0, 100.0])
    actual = p50[:, None] + np.arange(N + 2)[:, None] * 10.0 + np.arange(13)[None, :]
    actual[N, 0] = np.nan  # another location of product 0, not suggested either way
    actual[0, 1:] = np.nan  # later weeks missing: only the first week counts for a 7-day interval
    weekly = _fold(ids, p50 - np.where(p50 > 100, 100, 20), p50, p50 + np.where(p50 > 100, 100, 30), actual)
    return {"W": {"global": None, "method": {}, "resid_q": {}, "backtest": weekly}}


def test_fresh_install_uses_the_backtest_pool_weighted_by_scale(products):
    """No forecast was issued before AS_OF: the pool is the backtest's errors of every fold week j, (10 k + j) /
    spread, each weighted by its spread (50 or 200), and the reason names the version and the number of errors."""
    items, location = products
    version = _version(items, location, _artifact(items, location))
    errors, scales = backtest_error_samples(version=version, protection_days={(p.pk, location.pk): 7 for p in items})
    spread = [200.0 if k % 2 else 50.0 for k in range(N)]
    weeks = [range(1)] + [range(13)] * (N - 1)  # product 0: weeks after the first are missing
    expected = [(10 * k + j) / spread[k] for k in range(N) for j in weeks[k]]
    spreads = [spread[k] for k in range(N) for _ in weeks[k]]
    assert len(expected) == 1 + 23 * 13
    assert errors.tolist() == pytest.approx(expected)
    assert scales.tolist() == spreads

    suggestions = {s.product.sku: s for s in replenishment_suggest(as_of=AS_OF, review_days=4)}
    pool = np.array(pooled_errors(expected, spreads))
    assert len(pool) == 400
    for s in suggestions.values():  # protection 3 + 4 = 7 days: the week's P50 100 + spread 50 x each error
        assert s.daily_demand == pytest.approx((100 + 50 * pool.mean()) / 7)
        assert f"from 300 errors of the backtest of demand v{version.version}" in s.reason


def test_interval_longer_than_the_fold_or_unrecorded_gives_no_error(products):
    items, location = products
    version = _version(items, location, _artifact(items, location))
    # 8 days need two weeks (weights 1 and 1/7): 12 starts in the 13-week fold; product 0 has no second week
    errors, _ = backtest_error_samples(version=version, protection_days={(p.pk, location.pk): 8 for p in items})
    assert len(errors) == (N - 1) * 12
    # product 1, start j: (10 + j + (10 + j + 1) / 7) - (500 + 500 / 7), over the spread 200 + 200 / 7
    assert errors[:12].tolist() == pytest.approx([(10 + j + (11 + j) / 7) / (200 + 200 / 7) for j in range(12)])
    errors, _ = backtest_error_samples(version=version, protection_days={(items[1].pk, location.pk): 7 * 14})
    assert len(errors) == 0


def test_version_without_a_stored_backtest_falls_back_to_the_quantiles(products):
    items, location = products
    _version(items, location, {"W": {"global": None, "method": {}, "resid_q": {}}})
    [s, *_] = replenishment_suggest(as_of=AS_OF, review_days=4)
    assert "from the forecast quantiles only (no past errors)" in s.reason


def test_a_few_issued_forecasts_join_the_backtest_pool(products):
    """Three products had a weekly forecast issued by an earlier version two weeks before AS_OF and observed
    since (P50 100, spread 50, sold 100 + 30 m): fewer than 20 errors, so they are pooled with the backtest's
    300 instead of being ignored, and the reason counts both."""
    from inventory.models import SalesObservation

    items, location = products
    version = _version(items, location, _artifact(items, location))
    old = model_version_register(spec=SPEC, trained=TrainedModel(algorithm="t", artifact={}, metrics={}))
    issued = AS_OF - timedelta(days=14)
    for m, product in enumerate(items[:3]):
        DemandForecast.objects.create(
            product=product, location=location, model_version=old, as_of=issued, period_start=issued,
            period_days=7, horizon_step=1, p10=80, p50=100, p90=130,
        )  # fmt: skip
        SalesObservation.objects.create(product=product, location=location, period_start=issued, units=100 + 30 * m)
    fold_errors, fold_scales = backtest_error_samples(
        version=version, protection_days={(p.pk, location.pk): 7 for p in items}
    )
    pool = np.array(pooled_errors([0.0, 0.6, 1.2, *fold_errors], [50.0] * 3 + fold_scales.tolist()))
    suggestions = replenishment_suggest(as_of=AS_OF, review_days=4)
    for s in suggestions:
        assert s.daily_demand == pytest.approx((100 + 50 * pool.mean()) / 7)
        assert (
            f"from 303 errors of issued forecasts (3) and the backtest of demand v{version.version} (300)" in s.reason
        )

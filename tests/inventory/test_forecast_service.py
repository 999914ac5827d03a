"""Demand forecasting through Django: history selectors, no leakage, the job, the command and its export."""

import csv
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command

from ecomops.models import ModelVersion
from inventory.forecasting import EXPORT_COLUMNS, demand_forecast_train, order_demand_daily
from inventory.ml.forecaster import ForecastParams
from inventory.ml.global_model import GlobalParams
from inventory.models import Allocation, DemandForecast, ForecastSeriesMetric, Location
from orders.models import Order
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

AS_OF = date(2018, 4, 1)
FAST = ForecastParams(global_params=GlobalParams(max_iter=20, max_rows=5_000))


def _sell(product, day: date, quantity: int, status=Order.Status.DELIVERED):
    order = OrderFactory(purchased_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC), status=status)
    return OrderLineFactory(order=order, product=product, quantity=quantity)


@pytest.fixture
def history(db):
    """Two products sold daily for 8 weeks before AS_OF, weekday pattern, and sales after AS_OF."""
    products = [ProductFactory(sku="SKU-A"), ProductFactory(sku="SKU-B")]
    start = AS_OF - timedelta(days=56)
    for k, product in enumerate(products):
        for d in range(56 + 10):
            day = start + timedelta(days=d)
            if d % 7 != 6:  # no sales on one weekday: zeros, not gaps
                _sell(product, day, 1 + k + (d % 3))
    return products


def test_order_demand_is_daily_zero_filled_and_excludes_canceled(db):
    product = ProductFactory(sku="SKU-Z")
    _sell(product, date(2018, 3, 1), 2)
    _sell(product, date(2018, 3, 1), 3)
    _sell(product, date(2018, 3, 3), 5, status=Order.Status.CANCELED)
    _sell(product, date(2018, 3, 4), 7)  # on the cut-off day: not history
    frame = order_demand_daily(before=date(2018, 3, 4))
    assert frame["y"].tolist() == [5.0, 0.0, 0.0]
    assert frame["ds"].dt.date.tolist() == [date(2018, 3, 1), date(2018, 3, 2), date(2018, 3, 3)]
    assert set(frame["location_id"]) == {Location.objects.get(code="WEB").pk}


def test_zero_fill_of_several_series_starts_each_at_its_first_sale_and_keeps_prices_only_on_sale_days(db):
    web = Location.objects.get_or_create(code="WEB")[0]
    late, early = ProductFactory(sku="SKU-LATE"), ProductFactory(sku="SKU-EARLY")
    OrderLineFactory(
        order=OrderFactory(purchased_at=datetime(2018, 3, 2, 9, tzinfo=UTC)), product=late, quantity=2, unit_price=10
    )
    for day, price in ((1, 4), (3, 5)):
        OrderLineFactory(
            order=OrderFactory(purchased_at=datetime(2018, 3, day, 9, tzinfo=UTC)),
            product=early,
            quantity=1,
            unit_price=price,
        )

    frame = order_demand_daily(before=date(2018, 3, 4))

    rows = frame.assign(day=frame["ds"].dt.day)[["product_id", "location_id", "day", "y", "price"]]
    expected = sorted(
        [
            [early.pk, web.pk, 1, 1.0, 4.0],
            [early.pk, web.pk, 2, 0.0, None],
            [early.pk, web.pk, 3, 1.0, 5.0],
            [late.pk, web.pk, 2, 2.0, 10.0],
            [late.pk, web.pk, 3, 0.0, None],
        ]
    )
    got = [[int(a), int(b), int(c), float(d), None if np.isnan(e) else float(e)] for a, b, c, d, e in rows.values]
    assert got == expected
    assert frame["product_id"].dtype == frame["location_id"].dtype == np.int64


def test_allocated_lines_count_at_their_location(db):
    product = ProductFactory()
    warehouse = Location.objects.create(code="WH1")
    line = _sell(product, date(2018, 3, 1), 4)
    Allocation.objects.create(order_line=line, location=warehouse, quantity=4, status=Allocation.Status.SHIPPED)
    frame = order_demand_daily(before=date(2018, 3, 2))
    assert frame[["location_id", "y"]].values.tolist() == [[warehouse.pk, 4.0]]


def test_training_registers_version_writes_rows_and_metrics(history):
    run = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    assert run.version.registered_model.name == "demand"
    assert run.version.as_of == AS_OF
    assert run.promoted is True and run.version.status == ModelVersion.Status.ACTIVE
    assert {"mase", "wape", "bias", "pinball", "coverage", "seasonal_naive_mase"} <= set(run.version.metrics)
    rows = DemandForecast.objects.filter(model_version=run.version)
    assert rows.count() == 2 * 7
    assert sorted({r.period_start for r in rows}) == [AS_OF + timedelta(days=k) for k in range(7)]
    assert all(r.p10 <= r.p50 <= r.p90 for r in rows)
    assert ForecastSeriesMetric.objects.filter(model_version=run.version).count() == 2


def test_sales_on_or_after_as_of_change_nothing(history):
    first = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    before = list(
        DemandForecast.objects.filter(model_version=first.version)
        .order_by("product_id", "period_start")
        .values_list("product_id", "period_start", "p10", "p50", "p90")
    )
    # when: a huge sale on the as-of day and later ones are added
    for product in history:
        _sell(product, AS_OF, 500)
        _sell(product, AS_OF + timedelta(days=3), 900)
    second = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    after = list(
        DemandForecast.objects.filter(model_version=second.version)
        .order_by("product_id", "period_start")
        .values_list("product_id", "period_start", "p10", "p50", "p90")
    )
    assert after == before
    assert second.metrics == first.metrics


def test_command_exports_exact_columns(history, tmp_path, settings):
    settings.ECOMOPS_DEMAND_GLOBAL_PARAMS = {"max_iter": 20, "max_rows": 5_000}
    target = tmp_path / "forecast.csv"
    call_command("forecast_demand", "--as-of", AS_OF.isoformat(), "--horizon", "3", "--export", str(target))
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == EXPORT_COLUMNS == ["sku", "location", "period_start", "p10", "p50", "p90", "model_version"]
    assert len(rows) == 1 + 2 * 3
    assert [r[:3] for r in rows[1:4]] == [["SKU-A", "WEB", (AS_OF + timedelta(days=k)).isoformat()] for k in range(3)]
    assert {r[6] for r in rows[1:]} == {"1"}


def test_command_rejects_bad_dates(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--as-of must be a date"):
        call_command("forecast_demand", "--as-of", "2018-13-01", "--horizon", "3")
    with pytest.raises(CommandError, match="--horizon must be between 1 and 366"):
        call_command("forecast_demand", "--as-of", "2018-03-01", "--horizon", "0")


def test_train_demand_job_registers_a_version_trained_by_the_job(history, settings):
    from ecomops.jobs import job_create, job_run
    from ecomops.models import JobRun

    settings.ECOMOPS_DEMAND_GLOBAL_PARAMS = {"max_iter": 20, "max_rows": 5_000}
    job = job_create(kind="train:demand", parameters={"as_of": AS_OF.isoformat(), "horizon": 5})
    job = job_run(job_id=job.pk)
    assert job.state == JobRun.State.SUCCEEDED and job.progress == 100
    version = ModelVersion.objects.get(registered_model__name="demand", version=job.result["version"])
    assert version.trained_by_job_id == job.pk
    assert job.result["rows"] == 2 * 5 == DemandForecast.objects.filter(model_version=version).count()
    assert "[ 98%]" in job.log


def test_train_demand_job_with_a_bad_horizon_fails_with_the_reason(db):
    from ecomops.jobs import job_create, job_run
    from ecomops.models import JobRun

    job = job_run(job_id=job_create(kind="train:demand", parameters={"as_of": "2018-04-01", "horizon": "many"}).pk)
    assert job.state == JobRun.State.FAILED
    assert job.error == "ValueError: horizon: not a whole number of periods: 'many'"
    assert ModelVersion.objects.count() == 0


def _rows(version):
    return list(
        DemandForecast.objects.filter(model_version=version)
        .order_by("product_id", "period_start")
        .values_list("product_id", "as_of", "period_start", "p10", "p50", "p90", "method")
    )


def test_scoring_with_the_active_version_reproduces_its_forecast_and_moves_the_as_of(history):
    from inventory.forecasting import demand_forecast_score

    trained = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    at_training = _rows(trained.version)
    # scoring as of the training date with the stored model gives the very rows training wrote
    run = demand_forecast_score(as_of=AS_OF, horizon=7)
    assert run.version == trained.version and _rows(trained.version) == at_training
    # a week later: same version (no new one is trained), rows replaced, starting at the new as-of
    later = AS_OF + timedelta(days=7)
    run = demand_forecast_score(as_of=later, horizon=5)
    assert ModelVersion.objects.filter(registered_model__name="demand").count() == 1
    rows = _rows(trained.version)
    assert run.rows == len(rows) == 2 * 5
    assert {r[1] for r in rows} == {later}
    assert sorted({r[2] for r in rows}) == [later + timedelta(days=k) for k in range(5)]
    assert all(r[3] <= r[4] <= r[5] for r in rows)
    assert ForecastSeriesMetric.objects.filter(model_version=trained.version).count() == 2


def test_score_demand_job_without_an_active_version_fails_with_the_reason(db):
    from ecomops.jobs import job_create, job_run
    from ecomops.models import JobRun

    job = job_run(job_id=job_create(kind="score:demand", parameters={"as_of": "2018-04-01", "horizon": 3}).pk)
    assert job.state == JobRun.State.FAILED
    assert job.error == "ValueError: no active demand model to score with: train one first (train:demand)"


def test_training_stores_its_backtest_fold_for_the_first_error_pool(history):
    """56 days of history, horizon 7: the fold is the last 14 days (a quarter of the history), its forecasts
    fitted before AS_OF - 14 days; the actuals stored are the recorded sales, and the replenishment's
    backtest pool is computed from them."""
    from ecomops.registry import model_version_load
    from inventory.ml.replenishment import interval_errors
    from inventory.replenishment import backtest_error_samples

    run = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    fold = model_version_load(version=run.version)["D"]["backtest"]
    web = Location.objects.get(code="WEB")
    assert fold["series_ids"] == [f"{p.pk}:{web.pk}" for p in history]
    assert fold["start"] == AS_OF - timedelta(days=14)
    days = [42 + j for j in range(14)]
    expected = [[0 if d % 7 == 6 else 1 + k + d % 3 for d in days] for k in range(2)]
    assert fold["actual"].tolist() == expected
    assert fold["p50"].shape == (2, 14) and (fold["p10"] <= fold["p50"]).all() and (fold["p50"] <= fold["p90"]).all()
    errors, scales = backtest_error_samples(version=run.version, protection_days={(p.pk, web.pk): 10 for p in history})
    # 10-day intervals starting on each of the fold's first 5 days, series by series
    sums = {
        q: [fold[q][i, j : j + 10].astype(float).sum() for i in range(2) for j in range(5)]
        for q in ("actual", "p10", "p50", "p90")
    }
    spread = np.subtract(sums["p90"], sums["p10"])
    want, want_scales = interval_errors(sums["actual"], sums["p50"], spread)
    assert len(want) == 10
    assert errors.tolist() == pytest.approx(want.tolist()) and scales.tolist() == pytest.approx(want_scales.tolist())


def test_order_series_carry_the_price_in_force_on_days_without_sales(db):
    """A unit price only on sale days would tell the model when something sold: zero days get the price too."""
    from decimal import Decimal

    from inventory.forecasting import demand_data
    from pricing.models import PriceHistory

    listed, unlisted = ProductFactory(sku="SKU-L"), ProductFactory(sku="SKU-U")
    OrderLineFactory(
        order=OrderFactory(purchased_at=datetime(2018, 3, 1, 12, tzinfo=UTC)),
        product=unlisted,
        quantity=1,
        unit_price=Decimal("10.00"),
    )
    OrderLineFactory(
        order=OrderFactory(purchased_at=datetime(2018, 3, 3, 12, tzinfo=UTC)),
        product=unlisted,
        quantity=1,
        unit_price=Decimal("12.00"),
    )
    OrderLineFactory(
        order=OrderFactory(purchased_at=datetime(2018, 3, 1, 12, tzinfo=UTC)),
        product=listed,
        quantity=2,
        unit_price=Decimal("9.00"),
    )
    PriceHistory.objects.create(product=listed, price=Decimal("8.50"), effective_from=date(2018, 3, 2))
    (data,) = demand_data(as_of=date(2018, 3, 6), horizon=2)
    history = data.history.assign(sku=lambda f: f["series_id"].str.split(":").str[0].astype(int))
    prices = history.sort_values("ds").groupby("sku")["price"].apply(list).to_dict()
    # the last price sold at, day by day, where no price was planned
    assert prices[unlisted.pk] == [10.0, 10.0, 12.0, 12.0, 12.0]
    # the planned price in force wins from its first day on, sale or no sale
    assert prices[listed.pk] == [9.0, 8.5, 8.5, 8.5, 8.5]


def test_sparse_order_series_are_not_forecast_as_daily_sellers(db):
    """Products that sell one unit every ten days: the median day sells nothing, and the week's P90 stays near it."""
    from decimal import Decimal

    products = [ProductFactory(sku=f"SKU-S{k}") for k in range(12)]
    start = AS_OF - timedelta(days=120)
    for k, product in enumerate(products):
        for d in range(k % 10, 120, 10):
            day = start + timedelta(days=d)
            OrderLineFactory(
                order=OrderFactory(purchased_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC)),
                product=product,
                quantity=1,
                unit_price=Decimal("20.00") + k,
            )
    run = demand_forecast_train(as_of=AS_OF, horizon=7, params=FAST)
    rows = DemandForecast.objects.filter(model_version=run.version)
    assert rows.count() == 12 * 7
    # history: 12 products x 0.1 units a day = 8.4 units a week in all; a price on every day of the horizon
    # used to read as "sold that day" (about one unit per product per day, 84 in all)
    assert sum(float(r.p50) for r in rows) <= 8.4
    assert max(float(r.p90) for r in rows) <= 1.0

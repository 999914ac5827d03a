"""Pure forecasting maths on tiny hand-made series: exact expectations."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from inventory.ml import baselines
from inventory.ml.calendar import easter, holiday_flags
from inventory.ml.forecaster import DemandForecaster, ForecastParams
from inventory.ml.global_model import GlobalParams
from inventory.ml.metrics import mase_scale, overall_metrics, pinball, series_metrics
from inventory.ml.panel import build_panel

nan = np.nan


def test_mase_scale_skips_gaps_and_uses_one_step_changes():
    # given a series with a gap: |4-2| and |7-4| are one-step changes; the gap breaks 7 -> 5
    y = np.array([[2.0, 4.0, 7.0, nan, 5.0]])
    # then the scale is (2 + 3) / 2
    assert mase_scale(y).tolist() == [2.5]


def test_series_metrics_exact_values():
    actual = np.array([[10.0, nan, 20.0]])
    p50 = np.array([[12.0, 99.0, 15.0]])
    p10 = np.array([[8.0, 0.0, 16.0]])
    p90 = np.array([[14.0, 0.0, 25.0]])
    out = series_metrics(actual=actual, p50=p50, p10=p10, p90=p90, scale=np.array([2.0]))
    # absolute errors 2 and 5 over two observed periods (the missing one is ignored)
    assert out["mase"].tolist() == [3.5 / 2.0]
    assert out["wape"].tolist() == [7 / 30]
    assert out["bias"].tolist() == [(2 - 5) / 30]
    assert out["coverage"].tolist() == [1.0]
    # pinball: period 1 -> q.1: 0.1*2=0.2, q.5: 0.5*2=1 (over), q.9: 0.9... computed explicitly
    expected = (
        (
            pinball(10, 8, 0.1)
            + pinball(10, 12, 0.5)
            + pinball(10, 14, 0.9)
            + pinball(20, 16, 0.1)
            + pinball(20, 15, 0.5)
            + pinball(20, 25, 0.9)
        )
        / 3
        / 2
        / 2.0
    )
    assert out["pinball"][0] == pytest.approx(expected)
    assert float(pinball(10, 8, 0.1)) == pytest.approx(0.2)
    assert float(pinball(10, 14, 0.9)) == pytest.approx(0.4)
    overall = overall_metrics(out, actual=actual, p50=p50)
    assert overall["series"] == 1 and overall["observations"] == 2


def test_naive_seasonal_and_average_baselines():
    y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, nan]])
    assert baselines.naive(y, 2).tolist() == [[6.0, 6.0]]
    assert baselines.historic_average(y, 1).tolist() == [[3.5]]
    # season 3: next periods are t=7,8,9 -> same season as t=4,5,6 but t=6 is missing -> earlier cycle t=3
    assert baselines.seasonal_naive(y, 3, 3).tolist() == [[5.0, 6.0, 4.0]]


def test_croston_sba_and_tsb_on_an_intermittent_series():
    y = np.array([[0.0, 4.0, 0.0, 0.0, 4.0, 0.0]])
    classic = baselines.croston(y, 1, alpha=0.5, variant="classic")
    # sizes stay 4; intervals: first demand after 2 periods -> 2, next after 3 -> 2 + 0.5 * (3 - 2) = 2.5
    assert classic.tolist() == [[4.0 / 2.5]]
    assert baselines.croston(y, 1, alpha=0.5, variant="sba").tolist() == [[0.75 * 4.0 / 2.5]]
    tsb = baselines.croston(y, 1, alpha=0.5, variant="tsb")
    # probability: 0 -> 0.5 -> 0.25 -> 0.125 -> 0.5625 -> 0.28125; size 4
    assert tsb.tolist() == [[0.28125 * 4.0]]


def test_ses_follows_a_level_shift():
    y = np.array([[10.0] * 10 + [20.0] * 10])
    assert baselines.ses(y, 1)[0, 0] == pytest.approx(20.0, abs=0.5)


def test_easter_and_holiday_flags():
    assert easter(2018) == date(2018, 4, 1)
    assert easter(2024) == date(2024, 3, 31)
    dates = pd.DatetimeIndex(["2018-12-23", "2018-12-30", "2019-01-06"])
    # weeks starting 23 Dec (Christmas) and 30 Dec (New Year's eve and day) contain holidays
    assert holiday_flags(dates, freq="W", country="US").tolist() == [1.0, 1.0, 0.0]


def test_panel_holidays_follow_each_series_country():
    # the week from 3 Mar 2019 holds Carnival (Brazil), the week from 30 Jun 2019 the 4th of July (US)
    history = pd.DataFrame(
        {"series_id": ["a", "b", "c", "d"] * 2, "ds": ["2019-03-03"] * 4 + ["2019-06-30"] * 4, "y": 1.0}
    )
    static = pd.DataFrame({"series_id": ["a", "b", "c"], "group": "g", "country": ["us", "BR", "XX"]})
    panel = build_panel(history, static=static, freq="W", country="BR")
    holiday = panel.covariates["holiday"]
    # "XX" (no such calendar) and a series without a static row take the default
    assert holiday[:, [0, -1]].tolist() == [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
    assert build_panel(history, freq="W", country="US").covariates["holiday"][:, [0, -1]].tolist() == [[0.0, 1.0]] * 4


def _toy_history(n_series=6, weeks=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        base = 20 + 10 * s
        for w in range(weeks):
            promo = float(w % 5 == 0)
            price = 2.0 - 0.5 * promo
            y = rng.poisson(base * (2.0 if promo else 1.0))
            rows.append((f"s{s}", pd.Timestamp("2020-01-02") + pd.Timedelta(weeks=w), float(y), price, promo))
    return pd.DataFrame(rows, columns=["series_id", "ds", "y", "price", "promo"])


FAST = ForecastParams(global_params=GlobalParams(max_iter=40, max_rows=20_000))


def test_global_forecaster_learns_promotion_lift_from_known_future_covariates():
    history = _toy_history()
    last = history["ds"].max()
    future = pd.DataFrame(
        [
            (f"s{s}", last + pd.Timedelta(weeks=h), 1.5 if h == 1 else 2.0, 1.0 if h == 1 else 0.0)
            for s in range(6)
            for h in (1, 2)
        ],
        columns=["series_id", "ds", "price", "promo"],
    )
    panel = build_panel(history, future=future, horizon=2, freq="W")
    result = DemandForecaster(FAST).fit_predict(panel)
    assert result.p50.shape == (6, 2)
    # the promoted week is forecast well above the regular week for every series
    assert (result.p50[:, 0] > 1.4 * result.p50[:, 1]).all()
    assert (result.p10 <= result.p50).all() and (result.p50 <= result.p90).all()
    assert set(result.backtest) >= {"global", "seasonal_naive", "historic_average", "selected"}


def test_global_forecaster_learns_the_dip_after_a_planned_promotion():
    """Customers stock up on a promotion: the week after one sells half the usual. With the promotion planned for
    the first horizon week, the second is forecast below the third (a regular week) for every series."""
    rng = np.random.default_rng(1)
    rows = []
    for s in range(8):
        for w in range(70):
            promo = float(w % 5 == 0)
            factor = 2.0 if promo else 0.5 if w % 5 == 1 else 1.0
            rows.append(
                (
                    f"s{s}",
                    pd.Timestamp("2020-01-02") + pd.Timedelta(weeks=w),
                    float(rng.poisson((30 + 10 * s) * factor)),
                    promo,
                )
            )
    history = pd.DataFrame(rows, columns=["series_id", "ds", "y", "promo"])
    last = history["ds"].max()  # week 69: the horizon's weeks are 70 (promotion), 71 (after it) and 72
    future = pd.DataFrame(
        [(f"s{s}", last + pd.Timedelta(weeks=h), 1.0 if h == 1 else 0.0) for s in range(8) for h in (1, 2, 3)],
        columns=["series_id", "ds", "promo"],
    )
    result = DemandForecaster(FAST).fit_predict(build_panel(history, future=future, horizon=3, freq="W"))
    assert (result.p50[:, 1] < 0.75 * result.p50[:, 2]).all()
    assert (result.p50[:, 0] > 1.5 * result.p50[:, 2]).all()


def test_forecast_ignores_nothing_but_history_before_the_origin():
    history = _toy_history(n_series=3, weeks=40)
    panel_a = build_panel(history, horizon=3, freq="W")
    changed = history.copy()
    changed.loc[changed["ds"] == changed["ds"].max(), "y"] += 1000
    panel_b = build_panel(changed, horizon=3, freq="W")
    a = DemandForecaster(FAST).fit_predict(panel_a)
    b = DemandForecaster(FAST).fit_predict(panel_b)
    # then the last history week matters (it is before the origin) -- a sanity check that the test can fail
    assert not np.allclose(a.p50, b.p50)


def test_missing_weeks_stay_missing_in_the_panel():
    history = _toy_history(n_series=1, weeks=5).drop(index=2)
    panel = build_panel(history, horizon=1, freq="W")
    assert np.isnan(panel.y[0, 2]) and panel.y.shape == (1, 5)


def test_symmetric_conformal_margin_widens_both_sides_from_one_sided_misses():
    from inventory.ml.global_model import GlobalQuantileForecaster

    model = GlobalQuantileForecaster(GlobalParams(log_offset=0.1))
    # given P10 = P90 = 0 in log space and 25 actuals above it by 0.01 .. 0.25 (level 1: y = exp(v) - 0.1)
    v = np.arange(1, 26) / 100
    actual = (np.exp(v) - 0.1)[None, :]
    zeros = np.zeros((1, 25))
    low, high = model.calibrate({0.1: zeros, 0.5: zeros, 0.9: zeros}, actual, np.array([1.0]))
    # then one margin, the 0.8 * (1 + 1/25) = 0.832 quantile of the scores (interpolated: 0.20968), both sides
    assert low == high == pytest.approx(0.20968)
    per_tail = GlobalQuantileForecaster(GlobalParams(log_offset=0.1, conformal="per_tail"))
    low, high = per_tail.calibrate({0.1: zeros, 0.5: zeros, 0.9: zeros}, actual, np.array([1.0]))
    # per tail (0.9 * (1 + 1/25) = 0.936 quantile each): the lower side had no misses, so it narrows
    assert low == pytest.approx(-0.02536) and high == pytest.approx(0.23464)


def test_per_series_price_regression_extrapolates_a_deeper_price_cut():
    from inventory.ml.global_model import GlobalQuantileForecaster

    # given demand exactly log-linear in price (elasticity -2) in the model's target space (level 1, offset 0.1),
    # prices 0.8 .. 1.0 in history, one missing week, a cut to 0.7 in the horizon and a series seen only twice
    weeks = pd.date_range("2024-01-07", periods=30, freq="7D")
    prices = np.array([1.0, 0.9, 0.8] * 10)
    rows = [("a", d, 50 * p**-2 - 0.1, p) for k, (d, p) in enumerate(zip(weeks, prices, strict=True)) if k != 4]
    rows += [("b", weeks[-2], 5.0, 1.0), ("b", weeks[-1], 6.0, 0.9)]
    history = pd.DataFrame(rows, columns=["series_id", "ds", "y", "price"])
    future = pd.DataFrame({"series_id": ["a", "b"], "ds": weeks[-1] + pd.Timedelta(weeks=1), "price": [0.7, 0.7]})
    panel = build_panel(history, future=future, horizon=1, freq="W")
    model = GlobalQuantileForecaster(GlobalParams(log_offset=0.1, regression_ridge=1e-9))
    z = model._regression(panel, origin=30, horizon=1, level=np.array([1.0, 1.0]))
    # then series a's own regression recovers log(50) - 2 log(0.7), beyond anything it has seen
    assert np.exp(z[0, 0]) - 0.1 == pytest.approx(50 / 0.49 - 0.1, rel=1e-6)
    # and series b, with fewer than 3 observations, has no regression forecast
    assert np.isnan(z[1, 0])

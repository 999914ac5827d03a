"""The global model when the horizon's promotions are not known ahead: it forecasts them as unknown (the
covariate read at the origin, in training as in the forecast), not as "no promotion"."""

import numpy as np
import pandas as pd

from inventory.ml.global_model import GlobalParams, GlobalQuantileForecaster, unknown_ahead
from inventory.ml.panel import build_panel

START = pd.Timestamp("2020-01-02")
HISTORY, HORIZON = 80, 6


def _frame() -> pd.DataFrame:
    """30 weekly series, each at its own level; a promotion in a random third of the weeks triples demand."""
    rng = np.random.default_rng(0)
    rows = []
    for series in range(30):
        level = 50 + 10 * series
        for t in range(HISTORY + HORIZON):
            promo = float(rng.random() < 1 / 3)
            y = level * (3 if promo else 1) * rng.uniform(0.95, 1.05)
            rows.append({"series_id": series, "ds": START + pd.Timedelta(weeks=t), "y": y, "promo": promo})
    return pd.DataFrame(rows)


def _forecast(future_promo):
    """P10/P50/P90 over the horizon in multiples of each series' level, and the panel's unknown flags."""
    frame = _frame()
    cut = START + pd.Timedelta(weeks=HISTORY)
    history, later = frame[frame["ds"] < cut], frame[frame["ds"] >= cut]
    future = later[["series_id", "ds"]].assign(promo=future_promo(later))
    panel = build_panel(history[["series_id", "ds", "y", "promo"]], future=future, horizon=HORIZON, freq="W")
    model = GlobalQuantileForecaster(GlobalParams(max_iter=40)).fit(panel)
    out = model.predict(panel, origin=HISTORY, horizon=HORIZON)
    level = (50 + 10 * panel.series_ids.astype(int))[:, None]
    promo = later.pivot(index="series_id", columns="ds", values="promo").reindex(panel.series_ids).to_numpy()
    return {q: out[q] / level for q in out}, promo == 1, unknown_ahead(panel).get("promo")


def test_planned_promotions_are_forecast_week_by_week():
    out, promo, unknown = _forecast(lambda later: later["promo"])
    assert unknown is None
    assert out[0.5][promo].min() > 2.8 and out[0.5][~promo].max() < 1.05


def test_unknown_promotions_widen_the_interval_over_promotion_weeks():
    # given: nothing known of the horizon's promotions (NaN)
    out, _, unknown = _forecast(lambda later: np.nan)
    assert unknown.all()
    # then: every week's P10-P90 spans both a plain week (1x) and a promotion week (3x), whichever comes
    assert out[0.9].min() > 2.5 and out[0.1].max() < 1.25


def test_no_promotion_planned_is_forecast_as_no_promotion():
    # given: the horizon known to carry no promotion (0): near the plain level, whatever the weeks turn out to be
    out, _, unknown = _forecast(lambda later: 0.0)
    assert unknown is None
    assert out[0.9].max() < 1.5 and out[0.5].max() < 1.15


def test_only_a_covariate_given_as_nan_for_the_whole_horizon_is_unknown_ahead():
    weeks = [START + pd.Timedelta(weeks=k) for k in range(5)]
    history = pd.DataFrame({"series_id": np.repeat(["a", "b", "c"], 3), "ds": weeks[:3] * 3, "y": 1.0, "price": 2.0})
    future = pd.DataFrame(
        {
            # a: no price planned in either week; b: one week planned; c: no rows at all (unrecorded, not unknown)
            "series_id": ["a", "a", "b", "b"],
            "ds": weeks[3:] * 2,
            "price": [np.nan, np.nan, np.nan, 2.5],
        }
    )
    panel = build_panel(history, future=future, horizon=2, freq="W")
    assert panel.unknown["price"].tolist() == [True, False, False]
    assert unknown_ahead(panel)["price"].tolist() == [True, False, False]

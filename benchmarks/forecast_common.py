"""Shared pieces of the forecasting benchmarks: hold-out scoring, statsforecast and plain-GBM reference models.

Every model is scored on the same held-out periods (missing periods skipped) with MASE (scale: in-sample
mean absolute one-step change), WAPE, bias, scaled pinball loss and P10-P90 coverage, and timed.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("ECOMOPS_SHARED_DATA", ROOT.parent / "shared" / "data"))

from inventory.ml import baselines  # noqa: E402
from inventory.ml.forecaster import DemandForecaster, ForecastParams, _residual_quantiles  # noqa: E402
from inventory.ml.metrics import mase_scale, overall_metrics, series_metrics  # noqa: E402
from inventory.ml.panel import Panel  # noqa: E402

BASELINES = ("naive", "seasonal_naive", "historic_average")


def actual_matrix(panel: Panel, test: pd.DataFrame, period_days: int = 7) -> np.ndarray:
    """Held-out ``y`` as a series × horizon matrix aligned with ``panel`` (NaN where a week is missing)."""
    actual = np.full((panel.n_series, panel.horizon), np.nan)
    row = {sid: i for i, sid in enumerate(panel.series_ids)}
    offset = (pd.to_datetime(test["ds"]) - panel.dates[panel.n_history]) / pd.Timedelta(days=period_days)
    actual[test["series_id"].map(row).to_numpy(), offset.round().astype(int).to_numpy()] = test["y"].to_numpy()
    return actual


def score(panel: Panel, actual: np.ndarray, p50, p10=None, p90=None) -> dict[str, float]:
    scale = mase_scale(panel.y)
    per = series_metrics(actual=actual, p50=p50, p10=p10, p90=p90, scale=scale)
    return overall_metrics(per, actual=actual, p50=p50)


def univariate_rows(panel: Panel, actual: np.ndarray) -> list[dict]:
    """Baselines and per-series statistics, intervals from their own residuals on an inner fold."""
    rows = []
    h = panel.horizon
    inner = panel.n_history - h
    scale = mase_scale(panel.y)
    for name in baselines.UNIVARIATE:
        start = time.perf_counter()
        fold = baselines.univariate_forecast(name, panel.y[:, :inner], h, panel.season)
        lo, hi = _residual_quantiles(panel.y[:, inner:], np.nan_to_num(fold), mase_scale(panel.y[:, :inner]))
        p50 = np.nan_to_num(baselines.univariate_forecast(name, panel.y, h, panel.season))
        p10 = np.maximum(p50 + lo * scale[:, None], 0)
        p90 = np.maximum(p50 + hi * scale[:, None], 0)
        seconds = time.perf_counter() - start
        rows.append({"model": name, **score(panel, actual, p50, p10, p90), "seconds": seconds, "kind": "univariate"})
    return rows


def statsforecast_rows(panel: Panel, actual: np.ndarray) -> list[dict]:
    """statsforecast AutoETS and SeasonalNaive; they need gap-free series, so gaps are interpolated for them."""
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoETS, SeasonalNaive
    except ImportError:  # pragma: no cover - dev dependency
        return []
    frames = []
    for k, sid in enumerate(panel.series_ids):
        values = pd.Series(panel.y[k]).interpolate(limit_direction="both").to_numpy()
        frames.append(pd.DataFrame({"unique_id": str(sid), "ds": panel.dates[: panel.n_history], "y": values}))
    data = pd.concat(frames, ignore_index=True).dropna()
    freq = "D" if panel.freq == "D" else "W-" + panel.dates[0].day_name()[:3].upper()
    rows = []
    order = {str(sid): k for k, sid in enumerate(panel.series_ids)}
    for label, model in (
        ("statsforecast AutoETS", AutoETS(season_length=panel.season)),
        ("statsforecast SeasonalNaive", SeasonalNaive(season_length=panel.season)),
    ):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf = StatsForecast(models=[model], freq=freq, n_jobs=1)
            fc = sf.forecast(df=data, h=panel.horizon, level=[80])
        seconds = time.perf_counter() - start
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        alias = [c for c in fc.columns if c not in ("unique_id", "ds") and "-" not in c][0]
        p10 = np.zeros((panel.n_series, panel.horizon))
        p50 = np.zeros_like(p10)
        p90 = np.zeros_like(p10)
        for sid, group in fc.groupby("unique_id"):
            k = order[str(sid)]
            p50[k] = group[alias].to_numpy()[: panel.horizon]
            p10[k] = group[f"{alias}-lo-80"].to_numpy()[: panel.horizon]
            p90[k] = group[f"{alias}-hi-80"].to_numpy()[: panel.horizon]
        p50, p10, p90 = (np.maximum(np.nan_to_num(a), 0) for a in (p50, p10, p90))
        rows.append({"model": label, **score(panel, actual, p50, p10, p90), "seconds": seconds, "kind": "reference"})
    return rows


def plain_global_rows(panel: Panel, actual: np.ndarray, covariates: list[str]) -> list[dict]:
    """A plain global GBM: quantile HistGradientBoosting on the covariates and the series' mean level."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    start = time.perf_counter()
    level = np.nanmean(panel.y, axis=1)
    n, t_all = panel.n_series, panel.n_history + panel.horizon

    def matrix(cols: slice) -> np.ndarray:
        width = len(range(t_all)[cols])
        feats = [np.repeat(level, width)]
        for name in covariates:
            feats.append(panel.covariates[name][:, cols].reshape(-1))
        return np.column_stack(feats)

    X = matrix(slice(0, panel.n_history))
    target = panel.y.reshape(-1)
    keep = ~np.isnan(target)
    Xf = matrix(slice(panel.n_history, t_all))
    preds = {}
    for q in (0.1, 0.5, 0.9):
        model = HistGradientBoostingRegressor(loss="quantile", quantile=q, max_iter=200, random_state=0)
        model.fit(X[keep], target[keep])
        preds[q] = np.maximum(model.predict(Xf).reshape(n, panel.horizon), 0)
    seconds = time.perf_counter() - start
    return [
        {
            "model": "plain global GBM (price, promo, level)",
            **score(panel, actual, preds[0.5], preds[0.1], preds[0.9]),
            "seconds": seconds,
            "kind": "reference",
        }
    ]


def ecomops_rows(panel: Panel, actual: np.ndarray, params: ForecastParams | None = None) -> list[dict]:
    start = time.perf_counter()
    result = DemandForecaster(params).fit_predict(panel)
    seconds = time.perf_counter() - start
    methods = pd.Series(result.method).value_counts().to_dict()
    return [
        {
            "model": "ecomops demand (selected per series)",
            **score(panel, actual, result.p50, result.p10, result.p90),
            "seconds": seconds,
            "kind": "ecomops",
            "note": ", ".join(f"{k}={v}" for k, v in methods.items()),
        }
    ]


def print_table(title: str, rows: list[dict]) -> None:
    # the baselines are naive, seasonal naive and historic average; the stricter comparison also counts
    # every per-series statistical model (SES, Croston-SBA, TSB, statsforecast AutoETS)
    univariate = [r for r in rows if r["kind"] == "univariate" or r["model"].startswith("statsforecast")]
    best_uni = min(univariate, key=lambda r: r["mase"]) if univariate else None
    named = [r for r in univariate if r["model"] in BASELINES or "SeasonalNaive" in r["model"]]
    best_base = min(named, key=lambda r: r["mase"]) if named else None
    plain = next((r for r in rows if r["model"].startswith("plain global")), None)
    ets = next((r for r in rows if r["model"] == "statsforecast AutoETS"), None)
    print(f"\n{title}")
    print(f"{'model':42s} {'MASE':>7s} {'WAPE':>7s} {'bias':>7s} {'pinball':>8s} {'P10-P90 cov':>11s} {'seconds':>8s}")
    for r in rows:
        print(
            f"{r['model']:42s} {r['mase']:7.3f} {r['wape']:7.3f} {r['bias']:+7.3f} {r['pinball']:8.3f} "
            f"{r['coverage']:11.1%} {r['seconds']:8.2f}"
        )
    ours = next((r for r in rows if r["kind"] == "ecomops"), None)
    if ours and best_base:
        print(
            f"\necomops vs best baseline, naive / seasonal naive / historic average ({best_base['model']}): MASE "
            f"{(ours['mase'] / best_base['mase'] - 1):+.1%}  (target <= -40%)"
        )
    if ours and best_uni:
        print(
            f"ecomops vs best univariate model of any kind ({best_uni['model']}): MASE "
            f"{(ours['mase'] / best_uni['mase'] - 1):+.1%}  (target <= -40%)"
        )
    if ours and plain:
        print(f"ecomops vs plain global GBM: MASE {(ours['mase'] / plain['mase'] - 1):+.1%}")
        print(
            f"plain global GBM vs best baseline: MASE {(plain['mase'] / best_base['mase'] - 1):+.1%}, "
            f"vs best univariate model: {(plain['mase'] / best_uni['mase'] - 1):+.1%}"
        )
    if ours:
        print(f"ecomops P10-P90 coverage {ours['coverage']:.1%} (target 75-85%); series mix: {ours.get('note', '')}")
    if ours and ets:
        print(f"wall time: ecomops {ours['seconds']:.1f}s vs statsforecast AutoETS {ets['seconds']:.1f}s")

"""The demand forecaster: candidates per series chosen by rolling-origin backtest, quantiles from own errors.

Candidates are the baselines (naive, seasonal naive, historic average), simple exponential smoothing,
Croston-SBA / TSB for intermittent series, and the global quantile model. A backtest fold (origin =
``n_history - horizon``) scores each candidate per series; the global model also gets its conformal
calibration there. A series keeps the global model unless a univariate method beat it clearly on the fold.
Univariate intervals come from that method's own scaled backtest residuals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from . import baselines
from .global_model import QUANTILES, GlobalParams, GlobalQuantileForecaster
from .metrics import mase_scale, overall_metrics, series_metrics
from .panel import Panel, panel_tail


@dataclass(frozen=True)
class ForecastParams:
    """How the forecaster chooses: candidate methods, the backtest folds and the switching margin."""

    candidates: tuple[str, ...] = ("seasonal_naive", "naive", "historic_average", "ses", "croston_sba", "tsb")
    use_global: bool = True
    selection_margin: float = 0.5  # one backtest fold is noisy: switch away from the global model only on a clear win
    backtest_folds: int = 1
    calibration_folds: int = 2  # rolling-origin folds whose global-model residuals set the conformal interval width
    # ...but a further fold (a full model fit) only while fewer residuals than this have been collected: a large
    # panel's first fold alone pins the conformal quantile down
    calibration_max_points: int = 100_000
    min_history: int = 4
    global_params: GlobalParams = field(default_factory=GlobalParams)
    refit: bool = True


@dataclass
class ForecastResult:
    """Quantile forecasts for the panel horizon, the method chosen per series, and backtest metrics."""

    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    method: np.ndarray
    backtest: dict[str, dict[str, float]]
    per_series: pd.DataFrame
    explanation: dict
    # The backtest fold of the chosen methods (fitted before its origin: leak-free), for the replenishment's
    # first error pool: origin date ``start`` and per-series arrays p10 / p50 / p90 / actual (NaN: missing).
    backtest_fold: dict | None = None

    def to_frame(self, panel: Panel) -> pd.DataFrame:
        start = panel.n_history
        horizon = self.p50.shape[1]
        frame = pd.DataFrame(
            {
                "series_id": np.repeat(panel.series_ids, horizon),
                "ds": np.tile(panel.dates[start : start + horizon].to_numpy(), panel.n_series),
                "step": np.tile(np.arange(1, horizon + 1), panel.n_series),
                "p10": self.p10.reshape(-1),
                "p50": self.p50.reshape(-1),
                "p90": self.p90.reshape(-1),
                "method": np.repeat(self.method, horizon),
            }
        )
        return frame


def _residual_quantiles(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> tuple[float, float]:
    resid = ((actual - forecast) / scale[:, None])[~np.isnan(actual)]
    if len(resid) < 10:
        return -1.0, 1.0
    return float(np.quantile(resid, 0.1)), float(np.quantile(resid, 0.9))


class DemandForecaster:
    """Fit on a Panel's history and forecast its horizon with P10/P50/P90 (sklearn-style ``fit`` / ``predict``)."""

    def __init__(self, params: ForecastParams | None = None):
        self.params = params or ForecastParams()

    def _univariate(self, y: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
        out = {}
        for name in self.params.candidates:
            forecast = baselines.univariate_forecast(name, y, horizon, season)
            out[name] = np.maximum(np.nan_to_num(forecast, nan=0.0), 0.0)
        return out

    @staticmethod
    def _choose_blend(model: GlobalQuantileForecaster, panel: Panel, origin: int, horizon: int, actual, scale):
        """Keep the global model's blend with the per-series price regression only where it lowers the fold's
        MASE (a panel without prices or promotions gains nothing from it); returns the fold's scaled forecast."""
        options = []
        for weight in sorted({model.regression_weight_, 0.0}, reverse=True):
            model.regression_weight_ = weight
            scaled, level = model.predict_scaled(panel, origin=origin, horizon=horizon)
            p50 = model.to_units(scaled, level)[0.5]
            error = np.nanmean(series_metrics(actual=actual, p50=p50, scale=scale)["mase"])
            options.append((error, weight, scaled, level))
        _, model.regression_weight_, scaled, level = min(options, key=lambda o: o[0])
        return scaled, level

    def fit_predict(self, panel: Panel, *, progress=None) -> ForecastResult:
        """Backtest, choose per series, refit on the whole history and forecast ``panel.horizon`` periods."""
        horizon = panel.horizon
        if horizon < 1:
            raise ValueError("the panel has no horizon to forecast")
        n_hist = panel.n_history
        # The backtest fold must be long enough to choose by (at least a quarter of a year), yet leave history.
        fold_h = min(max(horizon, 28 if panel.freq == "D" else 13), max(1, n_hist // 4))
        origin = n_hist - fold_h
        if origin < self.params.min_history:
            raise ValueError(f"need at least {self.params.min_history + fold_h} periods of history, have {n_hist}")
        report = progress or (lambda pct, msg: None)
        y_train, actual = panel.y[:, :origin], panel.y[:, origin:n_hist]
        scale_fold = mase_scale(y_train)
        report(10, f"backtest fold: {panel.n_series} series, origin {panel.dates[origin].date()}, {fold_h} periods")
        fold = self._univariate(y_train, fold_h, panel.season)
        model = None
        period_days = 1 if panel.freq == "D" else 7
        offset = max(0, n_hist - self.params.global_params.max_history_days // period_days)
        recent = panel_tail(panel, offset)
        if self.params.use_global:
            model = GlobalQuantileForecaster(self.params.global_params).fit(
                recent, until=origin - offset, horizon=max(horizon, fold_h)
            )
            scaled, level = self._choose_blend(model, recent, origin - offset, fold_h, actual, scale_fold)
            calibration = [(scaled, actual, level)]
            # Earlier folds, each with a model fitted before its own origin, so that the interval width is
            # calibrated on more than one stretch of the year (a single fold under-covers after a season change).
            for k in range(1, self.params.calibration_folds):
                earlier = origin - offset - k * fold_h
                collected = sum(int((~np.isnan(c[1])).sum()) for c in calibration)
                if earlier - fold_h < self.params.min_history or collected >= self.params.calibration_max_points:
                    break
                extra = GlobalQuantileForecaster(self.params.global_params).fit(
                    recent, until=earlier, horizon=max(horizon, fold_h)
                )
                extra.regression_weight_ = model.regression_weight_
                extra_scaled, extra_level = extra.predict_scaled(recent, origin=earlier, horizon=fold_h)
                calibration.append((extra_scaled, recent.y[:, earlier : earlier + fold_h], extra_level))
                report(30 + 10 * k // self.params.calibration_folds, f"calibration fold {k + 1} scored")
            model.calibrate(
                {q: np.vstack([c[0][q] for c in calibration]) for q in QUANTILES},
                np.vstack([c[1] for c in calibration]),
                np.concatenate([c[2] for c in calibration]),
            )
            fold["global"] = model.to_units(scaled, level)
            report(45, f"global model backtested ({model.n_train_rows_} training rows)")
        fold_points = {name: (f[0.5] if isinstance(f, dict) else f) for name, f in fold.items()}
        fold_mase = {
            name: series_metrics(actual=actual, p50=f, scale=scale_fold)["mase"] for name, f in fold_points.items()
        }
        names = list(fold_points)
        table = np.vstack([np.nan_to_num(fold_mase[name], nan=np.inf) for name in names])
        best = np.argmin(table, axis=0)
        method = np.array([names[b] for b in best], dtype=object)
        if "global" in names:
            g = table[names.index("global")]
            keep_global = table[best, np.arange(len(best))] >= g * (1 - self.params.selection_margin)
            method[keep_global] = "global"
        # Series with no observed fold periods: global when available, else seasonal naive.
        no_fold = np.all(np.isnan(actual), axis=1)
        method[no_fold] = "global" if "global" in names else self.params.candidates[0]

        # Interval widths of the univariate methods, from their own backtest residuals.
        resid_q = {name: _residual_quantiles(actual, fold_points[name], scale_fold) for name in fold_points}

        # Backtest metrics of every candidate and of the selection (the selection is in-sample on this fold;
        # the benchmark scripts report it on held-out data).
        backtest = {}
        chosen_fold = {q: np.zeros_like(actual) for q in QUANTILES}
        for name, forecast in fold.items():
            if isinstance(forecast, dict):
                p10, p50, p90 = forecast[0.1], forecast[0.5], forecast[0.9]
            else:
                lo, hi = resid_q[name]
                p50 = forecast
                p10 = np.maximum(p50 + lo * scale_fold[:, None], 0)
                p90 = np.maximum(p50 + hi * scale_fold[:, None], 0)
            per = series_metrics(actual=actual, p50=p50, p10=p10, p90=p90, scale=scale_fold)
            backtest[name] = overall_metrics(per, actual=actual, p50=p50)
            rows = method == name
            for q, v in zip(QUANTILES, (p10, p50, p90), strict=True):
                chosen_fold[q][rows] = v[rows]
        per_chosen = series_metrics(
            actual=actual, p50=chosen_fold[0.5], p10=chosen_fold[0.1], p90=chosen_fold[0.9], scale=scale_fold
        )
        backtest["selected"] = overall_metrics(per_chosen, actual=actual, p50=chosen_fold[0.5])
        report(60, "per-series choice made; refitting on the whole history")

        # Final forecasts from the whole history.
        if model is not None and self.params.refit:
            adjust, weight = model.adjust_, model.regression_weight_
            model = GlobalQuantileForecaster(self.params.global_params).fit(
                recent, until=recent.n_history, horizon=horizon
            )
            model.adjust_, model.regression_weight_ = adjust, weight
        out = self.forecast(panel, model=model, method=method, resid_q=resid_q)
        report(90, "forecasts ready")
        per_series = pd.DataFrame(
            {
                "series_id": panel.series_ids,
                "method": method,
                **{k: v for k, v in per_chosen.items() if k != "n"},
                "observations": per_chosen["n"].astype(int),
            }
        )
        explanation = {
            "methods": pd.Series(method).value_counts().to_dict(),
            "feature_importance": model.feature_importance() if model is not None else {},
            "conformal_adjustment": list(model.adjust_) if model is not None else [],
            "regression_weight": model.regression_weight_ if model is not None else 0.0,
            "params": _jsonable(asdict(self.params)),
        }
        self.model_ = model
        self.method_ = method
        self.resid_q_ = resid_q
        return ForecastResult(
            p10=out[0.1],
            p50=out[0.5],
            p90=out[0.9],
            method=method,
            backtest=backtest,
            per_series=per_series,
            explanation=explanation,
            backtest_fold={
                "start": panel.dates[origin].date(),
                **{f"p{round(q * 100)}": chosen_fold[q] for q in QUANTILES},
                "actual": actual,
            },
        )

    def forecast(
        self,
        panel: Panel,
        *,
        model: GlobalQuantileForecaster | None,
        method: np.ndarray,
        resid_q: dict[str, tuple[float, float]],
    ) -> dict[float, np.ndarray]:
        """P10/P50/P90 for ``panel.horizon`` periods from the whole history, with each series' chosen method:
        the fitted global model (as is: not refitted), or a univariate method refitted on the series' history
        with the interval width of its backtest residuals ``resid_q``."""
        horizon = panel.horizon
        y_all = panel.y[:, : panel.n_history]
        scale_all = mase_scale(y_all)
        final = self._univariate(y_all, horizon, panel.season)
        if model is not None:
            period_days = 1 if panel.freq == "D" else 7
            recent = panel_tail(panel, max(0, panel.n_history - model.params.max_history_days // period_days))
            final["global"] = model.predict(recent, origin=recent.n_history, horizon=horizon)
        out = {q: np.zeros((panel.n_series, horizon)) for q in QUANTILES}
        for name, forecast in final.items():
            rows = method == name
            if not rows.any():
                continue
            if isinstance(forecast, dict):
                for q in QUANTILES:
                    out[q][rows] = forecast[q][rows]
            else:
                lo, hi = resid_q.get(name, (-1.0, 1.0))
                out[0.5][rows] = forecast[rows]
                out[0.1][rows] = np.maximum(forecast[rows] + lo * scale_all[rows, None], 0)
                out[0.9][rows] = np.maximum(forecast[rows] + hi * scale_all[rows, None], 0)
        out[0.1] = np.minimum(out[0.1], out[0.5])
        out[0.9] = np.maximum(out[0.9], out[0.5])
        return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value

"""Forecast accuracy metrics on dense arrays (series x periods); NaN marks a missing actual.

MASE is scaled by the in-sample mean absolute one-step difference of each series (gaps skipped), so it is
defined for weekly series with less than two years of history; overall MASE is the mean over series.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def mase_scale(history: np.ndarray) -> np.ndarray:
    """Per-series mean |y_t - y_{t-1}| over consecutive observed periods (NaN when it cannot be computed)."""
    history = np.atleast_2d(np.asarray(history, dtype=float))
    diffs = np.abs(np.diff(history, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        count = np.sum(~np.isnan(diffs), axis=1)
        total = np.nansum(diffs, axis=1)
        scale = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    # A flat history has no one-step error: fall back to the mean level so the ratio stays finite.
    level = np.array([np.nanmean(row) if np.any(~np.isnan(row)) else np.nan for row in history])
    scale = np.where(scale > 0, scale, np.where(level > 0, level, 1.0))
    return scale


def pinball(actual: np.ndarray, forecast: np.ndarray, quantile: float) -> np.ndarray:
    """Elementwise pinball (quantile) loss."""
    diff = np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float)
    return np.maximum(quantile * diff, (quantile - 1) * diff)


def series_metrics(
    *,
    actual: np.ndarray,
    p50: np.ndarray,
    scale: np.ndarray,
    p10: np.ndarray | None = None,
    p90: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-series MASE, WAPE, bias, scaled pinball loss and P10-P90 coverage over the observed periods."""
    actual = np.atleast_2d(np.asarray(actual, dtype=float))
    p50 = np.atleast_2d(np.asarray(p50, dtype=float))
    observed = ~np.isnan(actual)
    n = observed.sum(axis=1)
    err = np.where(observed, np.abs(actual - p50), 0.0)
    total = np.where(observed, np.abs(actual), 0.0).sum(axis=1)
    signed = np.where(observed, p50 - actual, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "n": n.astype(float),
            "mase": np.where(n > 0, err.sum(axis=1) / np.maximum(n, 1) / scale, np.nan),
            "wape": np.where(total > 0, err.sum(axis=1) / total, np.nan),
            "bias": np.where(total > 0, signed / total, np.nan),
        }
        if p10 is not None and p90 is not None:
            p10 = np.atleast_2d(np.asarray(p10, dtype=float))
            p90 = np.atleast_2d(np.asarray(p90, dtype=float))
            loss = sum(
                np.where(observed, pinball(np.nan_to_num(actual), q_forecast, q), 0.0)
                for q, q_forecast in zip(QUANTILES, (p10, p50, p90), strict=True)
            ) / len(QUANTILES)
            inside = observed & (actual >= p10) & (actual <= p90)
            out["pinball"] = np.where(n > 0, loss.sum(axis=1) / np.maximum(n, 1) / scale, np.nan)
            out["coverage"] = np.where(n > 0, inside.sum(axis=1) / np.maximum(n, 1), np.nan)
        else:
            out["pinball"] = np.where(n > 0, err.sum(axis=1) / np.maximum(n, 1) / scale / 2, np.nan)
            out["coverage"] = np.full(len(n), np.nan)
    return out


def overall_metrics(per_series: dict[str, np.ndarray], *, actual: np.ndarray, p50: np.ndarray) -> dict[str, float]:
    """Overall figures: MASE and scaled pinball averaged over series, WAPE/bias/coverage pooled over all periods."""
    actual = np.atleast_2d(np.asarray(actual, dtype=float))
    p50 = np.atleast_2d(np.asarray(p50, dtype=float))
    observed = ~np.isnan(actual)
    total = float(np.abs(actual[observed]).sum())
    n = per_series["n"]
    weights = n / n.sum() if n.sum() else n

    def _mean(values: np.ndarray) -> float:
        values = values[~np.isnan(values)]
        return float(values.mean()) if len(values) else float("nan")

    coverage = per_series["coverage"]
    return {
        "mase": _mean(per_series["mase"]),
        "wape": float(np.abs(actual - p50)[observed].sum() / total) if total else float("nan"),
        "bias": float((p50 - actual)[observed].sum() / total) if total else float("nan"),
        "pinball": _mean(per_series["pinball"]),
        "coverage": float(np.nansum(coverage * weights)) if not np.all(np.isnan(coverage)) else float("nan"),
        "series": int((n > 0).sum()),
        "observations": int(n.sum()),
    }

"""Univariate forecasters vectorised over a panel (rows = series, NaN = missing period).

Each function takes the history matrix ``y`` (n_series x n_periods) and returns point forecasts for the next
``horizon`` periods (n_series x horizon). Missing periods are skipped, never read as zero demand.
"""

from __future__ import annotations

import numpy as np


def _last_observed(y: np.ndarray) -> np.ndarray:
    observed = ~np.isnan(y)
    idx = np.where(observed, np.arange(y.shape[1]), -1)
    last = idx.max(axis=1)
    out = np.full(y.shape[0], np.nan)
    has = last >= 0
    out[has] = y[np.flatnonzero(has), last[has]]
    return out


def _mean(y: np.ndarray) -> np.ndarray:
    count = np.sum(~np.isnan(y), axis=1)
    return np.where(count > 0, np.nansum(y, axis=1) / np.maximum(count, 1), np.nan)


def naive(y: np.ndarray, horizon: int) -> np.ndarray:
    """Last observed value, repeated."""
    return np.repeat(_last_observed(y)[:, None], horizon, axis=1)


def historic_average(y: np.ndarray, horizon: int) -> np.ndarray:
    """Mean of every observed period, repeated."""
    return np.repeat(_mean(y)[:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Value of the same season in the latest observed cycle; naive where that cycle is missing."""
    n, t_hist = y.shape
    out = np.full((n, horizon), np.nan)
    for h in range(horizon):
        target = t_hist + h
        k = target - season * ((target - t_hist) // season + 1)
        while k >= 0 and np.isnan(out[:, h]).any():
            fill = np.isnan(out[:, h])
            out[fill, h] = y[fill, k]
            k -= season
    fallback = naive(y, horizon)
    return np.where(np.isnan(out), fallback, out)


def ses(y: np.ndarray, horizon: int, alphas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)) -> np.ndarray:
    """Simple exponential smoothing, smoothing weight chosen per series by in-sample one-step squared error."""
    n, t_hist = y.shape
    grid = np.asarray(alphas)[None, :]
    level = np.repeat(np.where(np.isnan(y[:, :1]), np.nan, y[:, :1]), len(alphas), axis=1)
    sse = np.zeros((n, len(alphas)))
    for t in range(1, t_hist):
        obs = y[:, t : t + 1]
        seen = ~np.isnan(obs)
        start = np.isnan(level) & seen
        err = np.where(seen & ~np.isnan(level), obs - level, 0.0)
        sse += err**2
        level = np.where(start, obs, np.where(seen & ~np.isnan(level), level + grid * err, level))
    best = np.argmin(sse, axis=1)
    final = level[np.arange(n), best]
    return np.repeat(final[:, None], horizon, axis=1)


def croston(y: np.ndarray, horizon: int, *, alpha: float = 0.1, variant: str = "sba") -> np.ndarray:
    """Croston's method for intermittent demand: ``classic``, ``sba`` (Syntetos-Boylan) or ``tsb``."""
    n, t_hist = y.shape
    size = np.full(n, np.nan)
    interval = np.full(n, np.nan)
    probability = np.full(n, np.nan)
    since = np.ones(n)
    for t in range(t_hist):
        obs = y[:, t]
        seen = ~np.isnan(obs)
        demand = seen & (obs > 0)
        if variant == "tsb":
            hit = demand.astype(float)
            probability = np.where(
                seen, np.where(np.isnan(probability), hit, probability + alpha * (hit - probability)), probability
            )
            size = np.where(demand, np.where(np.isnan(size), obs, size + alpha * (obs - size)), size)
            continue
        first = demand & np.isnan(size)
        update = demand & ~np.isnan(size)
        size = np.where(first, obs, np.where(update, size + alpha * (obs - size), size))
        interval = np.where(first, since, np.where(update, interval + alpha * (since - interval), interval))
        since = np.where(demand, 1.0, np.where(seen, since + 1, since))
    if variant == "tsb":
        rate = np.nan_to_num(probability) * np.nan_to_num(size)
    else:
        factor = 1 - alpha / 2 if variant == "sba" else 1.0
        rate = np.where(np.isnan(size), 0.0, factor * size / np.where(np.isnan(interval), 1.0, interval))
    return np.repeat(rate[:, None], horizon, axis=1)


def ets_statsmodels(y: np.ndarray, horizon: int) -> np.ndarray:
    """Damped-trend exponential smoothing per series with statsmodels (gaps interpolated for the fit).

    Slower than the vectorised methods (one optimisation per series): an optional candidate, named
    ``ets_statsmodels`` in ``ForecastParams.candidates``.
    """
    import warnings

    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    out = naive(y, horizon)
    for k, row in enumerate(y):
        observed = np.flatnonzero(~np.isnan(row))
        if len(observed) < 8:
            continue
        series = row[observed[0] :]
        series = np.interp(np.arange(len(series)), np.flatnonzero(~np.isnan(series)), series[~np.isnan(series)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = ExponentialSmoothing(series, trend="add", damped_trend=True).fit()
                out[k] = fit.forecast(horizon)
            except (ValueError, np.linalg.LinAlgError):
                continue
    return out


def zero_fraction(y: np.ndarray) -> np.ndarray:
    """Share of observed periods with zero demand, per series."""
    count = np.sum(~np.isnan(y), axis=1)
    zeros = np.sum(y == 0, axis=1)
    return np.where(count > 0, zeros / np.maximum(count, 1), 0.0)


UNIVARIATE = ("naive", "seasonal_naive", "historic_average", "ses", "croston_sba", "tsb")


def univariate_forecast(name: str, y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Dispatch by name; every method returns n_series x horizon point forecasts."""
    if name == "naive":
        return naive(y, horizon)
    if name == "seasonal_naive":
        return seasonal_naive(y, horizon, season)
    if name == "historic_average":
        return historic_average(y, horizon)
    if name == "ses":
        return ses(y, horizon)
    if name == "croston_sba":
        return croston(y, horizon, variant="sba")
    if name == "tsb":
        return croston(y, horizon, variant="tsb")
    if name == "ets_statsmodels":
        return ets_statsmodels(y, horizon)
    raise ValueError(f"unknown univariate method {name!r}")

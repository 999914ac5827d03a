"""A global quantile model across all series: gradient boosting on scaled demand with price, promotion,
calendar and holiday covariates, trained "direct" (one model for every horizon step) and conformally calibrated.

Rows are (series i, origin T, step h): features only use demand observed before the origin T, plus the
covariates known for the target period (planned prices and promotions, calendar, holidays). The target is
log(demand / level + offset), the level being the series' recent mean: one model serves slow and fast movers
alike, price and promotion effects are multiplicative (as in a log-log demand model), and since the transform
is monotone its quantiles map back to demand units exactly. Covariates: log price, relative to the series' own
past prices and to the competing products of its group (leave-one-out mean and the cheapest) in the same
period, the share of competitors on promotion, each promotion flag of the period before and after the target
(the dip after a promotion customers stocked up on, the wait before one), and per series its price response (the slope of log demand on
log price before T) and its level away from promotions. The median is averaged, in the target space, with each
series' own ridge regression of that target on its price, its competitors' price and promotions (which extrapolates a price cut deeper
than the pooled trees have seen); the quantiles move with it before the conformal calibration. A covariate that
a series has for none of its horizon (given as NaN: no planned price or promotion, ``unknown_ahead``) is read at the origin's
last period for that series in training, backtest and forecast alike, so the model forecasts what it will know."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingRegressor

from .calendar import easter
from .panel import Panel

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class GlobalParams:
    """Hyper-parameters of the global model (general defaults, not tuned to one data set)."""

    max_iter: int = 120
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    max_rows: int = 400_000
    samples_per_target: int = 1
    interval_level: float = 0.8
    max_history_days: int = 3 * 365  # older history adds little to a global model and costs memory
    log_offset: float = 0.1  # target log(y / level + offset): multiplicative effects, spikes tamed, zeros kept
    # weight of each series' own log-linear regression on its price and promotions (fitted on its recent history
    # at the origin) in the median, averaged with the boosting model's in the log target space: the boosting
    # model pools effects across series, the regression extrapolates the series' own response; 0 = boosting only
    regression_weight: float = 0.5
    regression_ridge: float = 0.1  # pulls each series' coefficients towards the pooled ones
    conformal: str = "symmetric"  # or "per_tail": how the backtest residuals set the P10-P90 margins
    random_state: int = 0


class _History:
    """Cumulative sums over the history matrix, for O(1) window statistics at any origin."""

    def __init__(self, y: np.ndarray):
        # float32 halves the memory of a large panel; sums of demand stay exact far beyond 5 years of days
        observed = ~np.isnan(y)
        values = np.where(observed, y, 0.0).astype(np.float32)
        self.sum = _cumsum(values)
        self.sq = _cumsum(values * values)
        self.count = _cumsum(observed)
        self.zeros = _cumsum(observed & (values == 0))
        self.last_value = _ffill(y)
        self.y = y

    def window(self, i: np.ndarray, T: np.ndarray, width: int | None):
        lo = np.zeros_like(T) if width is None else np.maximum(T - width, 0)
        count = self.count[i, T] - self.count[i, lo]
        total = self.sum[i, T] - self.sum[i, lo]
        sq = self.sq[i, T] - self.sq[i, lo]
        zeros = self.zeros[i, T] - self.zeros[i, lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
            var = np.where(count > 1, sq / count - mean**2, np.nan)
            zero_frac = np.where(count > 0, zeros / count, np.nan)
        return mean, np.sqrt(np.maximum(var, 0)), zero_frac, count

    def lag(self, i: np.ndarray, t: np.ndarray, T: np.ndarray, period: int) -> np.ndarray:
        """y at the latest t - k*period that lies before the origin T (NaN when missing or out of range)."""
        k = (t - T) // period + 1
        src = t - k * period
        ok = src >= 0
        out = np.full(len(i), np.nan)
        out[ok] = self.y[i[ok], src[ok]]
        return out


class _Response:
    """Cumulative sums for each series' own price response and its level away from promotions, at any origin:
    the least-squares slope of log1p(demand) on log price (an elasticity estimate, shrunk towards zero) and
    the mean log1p(demand) of periods without a promotion."""

    def __init__(self, panel: Panel, until: int):
        y = panel.y[:, :until]
        z = np.log1p(np.maximum(y, 0.0)).astype(np.float32)
        promo = np.zeros(y.shape, dtype=bool)
        for name, matrix in panel.covariates.items():
            if name != "price" and name != "holiday" and not name.startswith("holiday"):
                promo |= np.nan_to_num(matrix[:, :until]) > 0
        observed = ~np.isnan(z)
        plain = observed & ~promo
        cum = _cumsum

        self.plain_sum = cum(np.where(plain, z, 0.0))
        self.plain_count = cum(plain)
        price = panel.covariates.get("price")
        self.has_price = price is not None
        if self.has_price:
            with np.errstate(invalid="ignore", divide="ignore"):
                x = np.log(np.where(price[:, :until] > 0, price[:, :until], np.nan)).astype(np.float32)
            both = observed & ~np.isnan(x)
            x0, z0 = np.where(both, x, 0.0), np.where(both, z, 0.0)
            self.n = cum(both)
            self.sx, self.sz, self.sxz, self.sxx = cum(x0), cum(z0), cum(x0 * z0), cum(x0 * x0)

    def features(self, i: np.ndarray, T: np.ndarray, width: int, log_scale: np.ndarray) -> dict[str, np.ndarray]:
        lo = np.maximum(T - width, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            count = self.plain_count[i, T] - self.plain_count[i, lo]
            out = {
                "plain_level": np.where(
                    count > 0, (self.plain_sum[i, T] - self.plain_sum[i, lo]) / count - log_scale, np.nan
                )
            }
            if self.has_price:
                n = self.n[i, T] - self.n[i, lo]
                sx = self.sx[i, T] - self.sx[i, lo]
                sz = self.sz[i, T] - self.sz[i, lo]
                sxx = self.sxx[i, T] - self.sxx[i, lo] - sx * sx / np.maximum(n, 1)
                sxz = self.sxz[i, T] - self.sxz[i, lo] - sx * sz / np.maximum(n, 1)
                out["own_elasticity"] = np.where(n > 3, sxz / (sxx + 0.05 * np.maximum(n, 1) * 0.01), np.nan)
                out["price_spread"] = np.where(n > 3, np.sqrt(np.maximum(sxx, 0) / np.maximum(n, 1)), np.nan)
        return out


class GlobalQuantileForecaster:
    """Quantile gradient boosting across series; ``fit(panel, until)`` then ``predict(panel, origin, horizon)``."""

    def __init__(self, params: GlobalParams | None = None):
        self.params = params or GlobalParams()

    # -- features ---------------------------------------------------------------------------------------
    def _windows(self, freq: str) -> tuple[int, int, int]:
        return (7, 28, 182) if freq == "D" else (4, 13, 52)

    def _features(self, panel: Panel, hist: _History, i: np.ndarray, T: np.ndarray, h: np.ndarray, response: _Response):
        short, mid, long = self._windows(panel.freq)
        t = T + h - 1
        level, _, _, _ = hist.window(i, T, long)
        overall, _, _, count = hist.window(i, T, None)
        scale = np.where(np.isnan(level) | (level <= 0), overall, level)
        scale = np.where(np.isnan(scale) | (scale <= 0), 1.0 / long, scale)
        m_short, _, _, _ = hist.window(i, T, short)
        m_mid, sd_mid, _, _ = hist.window(i, T, mid)
        _, _, zero_frac, _ = hist.window(i, T, long)
        last = hist.last_value[i, T - 1]
        columns = {
            "step": h.astype(float),
            "log_level": np.log1p(scale),
            "mean_short": m_short / scale,
            "mean_mid": m_mid / scale,
            "mean_all": overall / scale,
            "std_mid": sd_mid / scale,
            "zero_frac": zero_frac,
            "last": last / scale,
            "log_count": np.log1p(count),
            "season_lag": hist.lag(i, t, T, panel.season) / scale,
            **response.features(i, T, long, np.log1p(scale)),
        }
        if panel.freq == "D":
            columns["year_lag"] = hist.lag(i, t, T, 364) / scale
        dates = panel.dates  # calendar per period once, then looked up per row
        columns["month"] = dates.month.to_numpy(dtype=float)[t]
        if panel.freq == "D":
            columns["day_of_week"] = dates.dayofweek.to_numpy(dtype=float)[t]
            columns["day_of_month"] = dates.day.to_numpy(dtype=float)[t]
        else:
            columns["week_of_year"] = dates.isocalendar().week.to_numpy(dtype=float)[t]
        columns["easter_offset"] = _easter_offset(panel, t)
        n_dates = len(panel.dates)
        unknown = {name: flags[i] for name, flags in unknown_ahead(panel).items()}

        def when(name: str) -> np.ndarray:
            """The period a covariate is read at: the target's, or the origin's last one when not known ahead."""
            flags = unknown.get(name)
            return t if flags is None or not flags.any() else np.where(flags, T - 1, t)

        for name, matrix in panel.covariates.items():
            if name == "price":
                continue
            at = when(name)
            columns[name] = matrix[i, at]
            if name == "holiday":
                columns["holiday_next"] = matrix[i, np.minimum(t + 1, n_dates - 1)]
            else:
                # a promotion the period before (customers stocked up: the post-promotion dip) and after (they
                # wait for it); planned, so known wherever the period's own value is, else unknown (NaN)
                known = at == t
                columns[f"{name}_prev"] = np.where(known, matrix[i, np.maximum(t - 1, 0)], np.nan)
                after = np.minimum(t + 1, n_dates - 1)
                columns[f"{name}_next"] = np.where(known & (t + 1 < n_dates), matrix[i, after], np.nan)
        price = panel.covariates.get("price")
        if price is not None:
            at = when("price")
            with np.errstate(invalid="ignore", divide="ignore"):
                # not known ahead: the last price seen before the origin stands for the target period's
                log_p = np.log(np.where(at == t, price[i, t], self._price_last[i, T - 1]))
                columns["log_price"] = log_p
                columns["price_rel_own"] = log_p - self._log_price_mean[i, T]
                columns["price_rel_last"] = log_p - np.log(self._price_last[i, T - 1])
                if self._group_price is not None:
                    columns["price_rel_group"] = log_p - self._group_price[i, at]
                    columns["price_rel_group_min"] = log_p - self._group_min[panel.groups[i], at]
                    columns["price_rank_group"] = self._group_rank[i, at]
        for name, matrix in self._group_promo.items():
            columns[f"{name}_group"] = matrix[i, when(name)]
        for name in getattr(self, "masked_", ()):
            flags = unknown.get(name)
            columns[f"{name}_known"] = np.ones(len(i)) if flags is None else (~flags).astype(float)
        self.feature_names_ = list(columns)
        X = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])
        if not hasattr(self, "empty_columns_"):
            # a feature never seen in training (e.g. no seasonal lag yet) is a constant, not an error
            self.empty_columns_ = np.all(np.isnan(X), axis=0)
        X[:, self.empty_columns_] = 0.0
        return X, scale

    def _prepare_prices(self, panel: Panel) -> None:
        """Price and competitor covariates over the whole panel (history and horizon: they are known ahead)."""
        self._log_price_mean = self._price_last = self._group_price = self._group_rank = self._group_min = None
        self._group_promo = {}
        groups = panel.groups
        if groups is not None:
            n_groups = groups.max() + 1
            for name, matrix in panel.covariates.items():
                if name.startswith("promo") or name in ("deal", "feat", "display", "feature", "discount"):
                    self._group_promo[name] = _leave_one_out_mean(matrix, groups, n_groups)
        price = panel.covariates.get("price")
        if price is None:
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            log_price = np.log(np.where(price > 0, price, np.nan)).astype(np.float32)
        seen = ~np.isnan(log_price)
        price_count = _cumsum(seen)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._log_price_mean = np.where(
                price_count > 0, _cumsum(np.where(seen, log_price, 0.0).astype(np.float32)) / price_count, np.nan
            ).astype(np.float32)
        self._price_last = _ffill(price)
        if groups is not None:
            # competing products: the mean log price of the other members of the group in the same period
            self._group_price = _leave_one_out_mean(log_price, groups, n_groups)
            group_min = _group_minimum(np.where(np.isnan(log_price), np.inf, log_price), groups, n_groups)
            self._group_min = np.where(np.isinf(group_min), np.nan, group_min)
            # share of group members priced below this product in the period (0 = cheapest)
            rank = np.full(price.shape, np.nan)
            for g in range(n_groups):
                members = np.flatnonzero(groups == g)
                block = price[members]
                if 1 < len(members) <= 64:  # pairwise comparison; big groups keep only the mean-price ratio
                    below = (block[:, None, :] > block[None, :, :]).sum(axis=1)
                    present = (~np.isnan(block)).sum(axis=0)
                    rank[members] = np.where(np.isnan(block), np.nan, below / np.maximum(present - 1, 1))
            self._group_rank = rank

    def _drop_prices(self) -> None:
        """Panel-sized price arrays are not part of the fitted model (nor of its stored artifact)."""
        self._log_price_mean = self._price_last = self._group_price = self._group_rank = self._group_min = None
        self._group_promo = {}

    # -- training ---------------------------------------------------------------------------------------
    def _training_rows(self, panel: Panel, until: int, horizon: int, rng: np.random.Generator):
        """(series, origin, step) rows: every observed target before ``until`` (``samples_per_target`` random
        steps each), or, past ``max_rows``, a sample favouring recent targets, drawn period by period without
        listing every observed cell (a large daily panel has tens of millions)."""
        observed = ~np.isnan(panel.y[:, :until])
        per_period = observed.sum(axis=0)
        per_period[0] = 0  # a target needs at least one period of history before it
        k = self.params.samples_per_target
        total = int(per_period.sum()) * k
        if total <= self.params.max_rows:
            i_rows, t_rows = np.nonzero(observed[:, 1:])
            t_rows = t_rows + 1
            i_rows, t_rows = np.repeat(i_rows, k), np.repeat(t_rows, k)
        else:
            # keep the most recent targets preferentially: they look most like what we forecast next
            weights = per_period * np.exp((np.arange(until) - until) / max(until / 2, 1))
            counts = rng.multinomial(self.params.max_rows, weights / weights.sum())
            i_parts, t_parts = [], []
            for t in np.flatnonzero(counts):
                members = np.flatnonzero(observed[:, t])
                take = min(int(counts[t]), len(members) * k)
                i_parts.append(rng.choice(np.repeat(members, k), size=take, replace=False))
                t_parts.append(np.full(take, t))
            i_rows, t_rows = np.concatenate(i_parts), np.concatenate(t_parts)
        h_rows = rng.integers(1, horizon + 1, size=len(i_rows))
        h_rows = np.minimum(h_rows, t_rows)  # the origin must leave at least one period of history
        return i_rows, t_rows - h_rows + 1, h_rows

    def fit(self, panel: Panel, *, until: int | None = None, horizon: int | None = None) -> GlobalQuantileForecaster:
        """Fit on targets before period index ``until`` (default: the whole history)."""
        until = panel.n_history if until is None else until
        horizon = horizon or max(panel.horizon, 1)
        rng = np.random.default_rng(self.params.random_state)
        self._prepare_prices(panel)
        hist = _History(panel.y[:, :until])
        if hasattr(self, "empty_columns_"):
            del self.empty_columns_
        self.masked_ = tuple(name for name, flags in unknown_ahead(panel).items() if flags.any())
        i, T, h = self._training_rows(panel, until, horizon, rng)
        # an origin needs a few observations before it, else the scale (and so the target) is meaningless
        enough = hist.count[i, T] >= 3
        i, T, h = i[enough], T[enough], h[enough]
        if len(i) == 0:
            raise ValueError("no observed demand to train the global model on")
        X, scale = self._features(panel, hist, i, T, h, _Response(panel, until))
        target = self._to_target(panel.y[i, T + h - 1], scale)
        # ties at the zero-demand floor (most days of a slow mover) leave the median model with one constant
        # gradient and no split; a jitter far below any demand unit breaks them
        target = target + rng.uniform(0.0, 1e-6, len(target))
        self.models_ = {}
        for q in QUANTILES:
            model = HistGradientBoostingRegressor(
                loss="quantile",
                quantile=q,
                max_iter=self.params.max_iter,
                learning_rate=self.params.learning_rate,
                max_leaf_nodes=self.params.max_leaf_nodes,
                min_samples_leaf=self.params.min_samples_leaf,
                l2_regularization=self.params.l2_regularization,
                early_stopping=False,
                random_state=self.params.random_state,
            )
            self.models_[q] = model.fit(X, target)
        self.n_train_rows_ = len(i)
        self._drop_prices()
        self.adjust_ = (0.0, 0.0)
        self.regression_weight_ = self.params.regression_weight
        return self

    def predict_scaled(self, panel: Panel, *, origin: int, horizon: int):
        """Scaled quantile forecasts (n_series x horizon each) and the per-series scale at ``origin``."""
        n = panel.n_series
        hist = _History(panel.y[:, :origin])
        i = np.repeat(np.arange(n), horizon)
        h = np.tile(np.arange(1, horizon + 1), n)
        T = np.full(len(i), origin)
        self._prepare_prices(panel)  # from this panel: a stored model forecasts panels it was not fitted on
        X, scale = self._features(panel, hist, i, T, h, _Response(panel, origin))
        self._drop_prices()
        raw = {q: self.models_[q].predict(X).reshape(n, horizon) for q in QUANTILES}
        ordered = np.sort(np.stack([raw[q] for q in QUANTILES]), axis=0)
        level = scale.reshape(n, horizon)[:, 0]
        weight = getattr(self, "regression_weight_", 0.0)  # models stored before the blend existed: none
        if weight > 0:
            own = self._regression(panel, origin, horizon, level)
            # the whole predictive distribution moves with the median; the conformal margins are set afterwards
            ordered = ordered + weight * np.nan_to_num(own - ordered[QUANTILES.index(0.5)])
        return {q: ordered[k] for k, q in enumerate(QUANTILES)}, level

    def _regression(self, panel: Panel, origin: int, horizon: int, level: np.ndarray) -> np.ndarray:
        """Per series, a ridge regression of the log target on log price, the competing products' mean log price
        (when the panel has groups) and the other known covariates over its last ``long`` periods before
        ``origin``, evaluated on the horizon's covariates (n x horizon, in the target space; NaN where a series
        has fewer than 3 observations). The ridge shrinks each series' coefficients towards those of all series
        pooled (not towards zero: a short history keeps the typical price response). Centered per series, so a
        covariate that is missing or never varied adds nothing; predictions are kept within one log unit of the
        range the series has shown."""
        start = max(0, origin - self._windows(panel.freq)[2])
        z = self._to_target(panel.y[:, start:origin], level[:, None])
        observed = ~np.isnan(z)
        count = observed.sum(axis=1)
        z_mean = np.where(count > 0, np.where(observed, z, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
        past, future = [], []
        regressors = {name: matrix[:, start : origin + horizon] for name, matrix in panel.covariates.items()}
        for name, flags in unknown_ahead(panel).items():
            if flags.any():  # not known ahead: the series' mean over its window stands for the periods after origin
                regressors[name] = regressors[name].copy()
                regressors[name][flags, origin - start :] = np.nan
        if "price" in regressors:
            with np.errstate(invalid="ignore", divide="ignore"):
                regressors["price"] = np.log(np.where(regressors["price"] > 0, regressors["price"], np.nan))
            if panel.groups is not None:  # the competing products' mean log price in the same period
                groups = panel.groups
                regressors["price_group"] = _leave_one_out_mean(regressors["price"], groups, groups.max() + 1)
        for values in regressors.values():
            seen = observed & ~np.isnan(values[:, : origin - start])
            mean = np.where(seen, values[:, : origin - start], 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
            centered = np.nan_to_num(values - mean[:, None]).astype(np.float32)
            past.append(np.where(observed, centered[:, : origin - start], 0.0))
            future.append(centered[:, origin - start :])
        if not past:
            return np.repeat(z_mean[:, None], horizon, axis=1)
        Xp, Xf = np.stack(past, axis=2), np.stack(future, axis=2)
        gram = np.einsum("ntp,ntq->npq", Xp, Xp)
        moment = np.einsum("ntp,nt->np", Xp, np.where(observed, z - z_mean[:, None], 0.0))
        ridge = self.params.regression_ridge * np.eye(Xp.shape[2])
        pooled = np.linalg.solve(gram.sum(axis=0) + ridge, moment.sum(axis=0))
        beta = np.linalg.solve(gram + ridge, (moment + pooled @ ridge)[:, :, None])[:, :, 0]
        pred = z_mean[:, None] + np.einsum("nhp,np->nh", Xf, beta)
        with np.errstate(invalid="ignore"):
            low = np.nanmin(np.where(observed, z, np.inf), axis=1) - 1.0
            high = np.nanmax(np.where(observed, z, -np.inf), axis=1) + 1.0
        pred = np.clip(pred, low[:, None], high[:, None])
        return np.where(count[:, None] >= 3, pred, np.nan)

    def _to_target(self, y: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(y, 0.0) / scale + self.params.log_offset)

    def _from_target(self, z: np.ndarray, scale: np.ndarray) -> np.ndarray:
        # exp(log(offset)) - offset is not exactly 0 in floating point: a zero forecast must stay exactly 0
        units = (np.exp(z) - self.params.log_offset) * scale
        return np.where(units > 1e-5 * scale, units, 0.0)

    def calibrate(self, scaled: dict, actual: np.ndarray, level: np.ndarray) -> tuple[float, float]:
        """Conformalised quantile regression on backtest folds (actual demand in units, the model's level per
        series), in the model's log space. ``symmetric`` (Romano et al. 2019): one margin from the score
        max(P10 - y, y - P90), applied to both sides, so a fold whose misses are all on one side (holiday peaks)
        still widens the other; ``per_tail``: each tail separately."""
        actual_scaled = self._to_target(actual, level[:, None])
        observed = ~np.isnan(actual_scaled)
        low = (scaled[0.1] - actual_scaled)[observed]
        high = (actual_scaled - scaled[0.9])[observed]
        if len(low) < 20:
            self.adjust_ = (0.0, 0.0)
            return self.adjust_
        if self.params.conformal == "per_tail":
            tail = (1 - self.params.interval_level) / 2
            level_q = min(1.0, (1 - tail) * (1 + 1 / len(low)))
            self.adjust_ = (float(np.quantile(low, level_q)), float(np.quantile(high, level_q)))
        else:
            level_q = min(1.0, self.params.interval_level * (1 + 1 / len(low)))
            margin = float(np.quantile(np.maximum(low, high), level_q))
            self.adjust_ = (margin, margin)
        return self.adjust_

    def predict(self, panel: Panel, *, origin: int, horizon: int) -> dict[float, np.ndarray]:
        """Quantile forecasts in demand units, calibrated, non-negative and non-crossing."""
        return self.to_units(*self.predict_scaled(panel, origin=origin, horizon=horizon))

    def to_units(self, scaled: dict, scale: np.ndarray) -> dict[float, np.ndarray]:
        """Calibrated quantiles in demand units from ``predict_scaled``'s output."""
        low_adj, high_adj = getattr(self, "adjust_", (0.0, 0.0))
        p50 = scaled[0.5]
        p10 = np.minimum(scaled[0.1] - low_adj, p50)
        p90 = np.maximum(scaled[0.9] + high_adj, p50)
        return {q: self._from_target(v, scale[:, None]) for q, v in zip(QUANTILES, (p10, p50, p90), strict=True)}

    def feature_importance(self) -> dict[str, float]:
        """Split-gain importances are not exposed by HistGradientBoosting; report the median model's feature use."""
        model = self.models_[0.5]
        counts = np.zeros(len(self.feature_names_))
        for predictors in model._predictors:  # noqa: SLF001 - no public accessor for tree structure
            for tree in predictors:
                nodes = tree.nodes
                for f, gain in zip(
                    nodes["feature_idx"][nodes["is_leaf"] == 0], nodes["gain"][nodes["is_leaf"] == 0], strict=True
                ):
                    counts[f] += max(gain, 0.0)
        total = counts.sum() or 1.0
        return {name: round(float(c / total), 4) for name, c in zip(self.feature_names_, counts, strict=True)}


def unknown_ahead(panel: Panel) -> dict[str, np.ndarray]:
    """Per covariate, the series whose value is known for none of the horizon's periods (``Panel.unknown``: no
    planned price or promotion). Their rows, in training and backtest as in the forecast, read the covariate at the
    origin's last period instead of the target's (the knowledge a forecast has), so the model learns demand as it
    will be forecast, promotion weeks included, rather than as if no promotion were coming."""
    return {name: flags for name, flags in panel.unknown.items() if flags.any()}


def _leave_one_out_mean(matrix: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per row and period, the mean of the other rows of the same group (NaN where there is none)."""
    observed = ~np.isnan(matrix)
    values = np.where(observed, matrix, 0.0)
    # Group sums as a product with the group-membership matrix (np.add.at over rows took minutes at 54k series).
    rows = len(groups)
    member = sparse.csr_matrix((np.ones(rows), (groups, np.arange(rows))), shape=(n_groups, rows))
    totals = member @ values
    counts = member @ observed.astype(np.float64)
    others = counts[groups] - observed
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(others > 0, (totals[groups] - values) / others, np.nan)


def _group_minimum(matrix: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group and period, the minimum over the group's rows (inf for a group without rows)."""
    out = np.full((n_groups, matrix.shape[1]), np.inf)
    order = np.argsort(groups, kind="stable")
    present, starts = np.unique(groups[order], return_index=True)
    out[present] = np.minimum.reduceat(matrix[order], starts, axis=0)
    return out


def _easter_offset(panel: Panel, t: np.ndarray) -> np.ndarray:
    """Periods from Easter Sunday to the target period (a moving feast that shifts retail demand between weeks),
    clipped to +-3 periods; NaN further away."""
    step = 1 if panel.freq == "D" else 7
    years = sorted({d.year for d in panel.dates})
    sundays = {y: pd.Timestamp(easter(y)) for y in range(years[0] - 1, years[-1] + 2)}
    offsets = []
    for day in panel.dates:
        best = min(((day - sundays[y]).days for y in (day.year - 1, day.year, day.year + 1)), key=abs)
        # a weekly period contains Easter when it starts at most 6 days before it
        k = int(np.floor((best + (step - 1)) / step)) if step > 1 else best
        offsets.append(float(k) if abs(k) <= 3 else np.nan)
    return np.asarray(offsets)[t]


def _cumsum(values: np.ndarray) -> np.ndarray:
    """Cumulative sums along periods in float32, with a leading zero column (sum of periods [0, T) at T)."""
    out = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.float32)
    np.cumsum(values, axis=1, dtype=np.float32, out=out[:, 1:])
    return out


def _ffill(matrix: np.ndarray) -> np.ndarray:
    """Last observed value at or before each period (float32; NaN before the first observation)."""
    observed = ~np.isnan(matrix)
    idx = np.where(observed, np.arange(matrix.shape[1], dtype=np.int32), np.int32(-1))
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(matrix.astype(np.float32), np.maximum(idx, 0), 1)
    out[idx < 0] = np.nan
    return out

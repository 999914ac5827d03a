"""Delivery-time model: ETA (centre of log days), promise date (conformal high quantile) and late risk.

Pure pandas / numpy / scikit-learn; no Django. One row per order in, one row per order out.

Input columns (``ORDER_COLUMNS``; timestamps are naive UTC ``datetime64``):

    order_id, purchased_at, approved_at, handed_to_carrier_at, delivered_at,
    seller_id, seller_lat, seller_lng, seller_state, customer_lat, customer_lng, customer_state,
    carrier, category, weight_g, volume_cm3, freight_value, price, items

How it avoids leaks: ``fit(orders, as_of=...)`` keeps only what was known before ``as_of``: training rows are
orders *delivered* before it, and history features (a seller's handling times, a route's delivery times,
the network's recent speed) are computed for every row only from events (carrier hand-off, delivery) that
happened before that row's purchase and before ``as_of``.

How it follows drift: the model learns log delivery days *relative to the network's recent speed* (mean log
days of the deliveries of the last ``network_window_days`` before the order's purchase, leak-free), so when the
whole network gets faster the ETA and promise follow at once instead of waiting for the trees to relearn the
level; recent orders also weigh more (exponential half-life), and the promise is calibrated (split-conformal)
on the most recent complete window with a model trained only on what was known at that window's start,
exactly as it is used live.

Censoring: at ``as_of`` only the fast deliveries of the last weeks' purchases are known, so training uses only
purchases old enough that (by the delivery times of older orders) 90 % of them would have been delivered; trained
on every known row the ETA came out early at every cut-off of the Olist sample (median log error +0.05 to +0.46);
leaving the unsettled rows out lowered the 30-day ETA MAE at 6 of 8 monthly cut-offs (mean 6.12 -> 5.76 d).
The calibration window likewise ends early enough (the 96 % quantile of past delivery times, for a 4 % target)
that its slow deliveries are known: ending it 15 days before the cut-off dropped exactly the late tail the promise
is about (mean late share over the 8 cut-offs 7.8 % -> 5.3 %, mean slack 11.6 -> 14.6 d).

Measured on the Olist sample (``benchmarks/delivery_olist.py``): the level-relative target lowered ETA MAE
and slack slightly; a direct quantile model for the promise (HistGradientBoosting quantile loss at 0.75 /
0.9 / 0.96 plus the conformal shift) gave *more* slack at the same late share, as did per-order spread scaling in
session 1's measurement and again in session 3 (an absolute-residual model as the conformal scale: late share
halved but slack +10 d), so the promise is the centre plus one calibrated offset, on log days or on square-root
days (whichever gives less slack on the calibration window; square-root days at 7 of 8 monthly Olist cut-offs).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from .geo import haversine_km

ORDER_COLUMNS = [
    "order_id",
    "purchased_at",
    "approved_at",
    "handed_to_carrier_at",
    "delivered_at",
    "seller_id",
    "seller_lat",
    "seller_lng",
    "seller_state",
    "customer_lat",
    "customer_lng",
    "customer_state",
    "carrier",
    "category",
    "weight_g",
    "volume_cm3",
    "freight_value",
    "price",
    "items",
]
CATEGORICAL = ["customer_state", "seller_state", "category", "carrier"]
NUMERIC = [
    "distance_km",
    "same_state",
    "customer_lat",
    "customer_lng",
    "seller_lat",
    "seller_lng",
    "weight_g",
    "volume_cm3",
    "freight_value",
    "price",
    "items",
    "freight_share",
    "dow",
    "hour",
    "doy_sin",
    "doy_cos",
    "seller_handling",
    "seller_handling_n",
    "seller_transit",
    "route_days",
    "route_n",
    "network_days",
    "network_handling",
]
DAY = pd.Timedelta(days=1)
MIN_DAYS = 0.25


@dataclass(frozen=True)
class DeliveryParams:
    """Settings of the delivery model; ``target_late_share`` is the store's accepted share of late deliveries."""

    target_late_share: float = 0.04
    half_life_days: float = 120.0
    calibration_days: int = 45
    # Calibration window ends this long before the cut-off; None: the (1 - target late share) quantile of the delivery
    # times of orders purchased ``settled_days`` or more before it (15 days with less history than 50 of them), so
    # that the window's slow deliveries, the ones the promise is about, are known by the cut-off.
    calibration_gap_days: int | None = None
    max_iter: int = 150
    learning_rate: float = 0.07
    recency_repeats: int = 4
    relative_to_network: bool = True  # learn log days minus the network's recent mean log days
    threads: int = 1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 30
    network_window_days: int = 28
    smoothing: float = 5.0
    top_categories: int = 60
    random_state: int = 0
    # Scales on which the promise margin is conformal (0 = log days: a margin proportional to the ETA; 0.5 = square
    # root of days: a margin growing more slowly with the ETA); the one with the least slack on the calibration
    # window at the target late share is kept (both reach the target there by construction).
    score_powers: tuple[float, ...] = (0.0, 0.5)
    # Train only on purchases whose outcome was settled (see ``DeliveryTimeModel._settled``); 0 keeps every row.
    complete_share: float = 0.9
    settled_days: int = 120

    def as_dict(self) -> dict:
        return asdict(self)


def _log_days(delta: pd.Series) -> np.ndarray:
    return np.log(np.maximum(delta / DAY, MIN_DAYS).to_numpy(dtype=float))


def _scaled(days, power: float) -> np.ndarray:
    """Days on the conformity-score scale: log for power 0, else days ** power."""
    days = np.maximum(np.asarray(days, dtype=float), 1e-6)
    return np.log(days) if power == 0 else days**power


def _unscaled(values, power: float) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.exp(values) if power == 0 else np.maximum(values, 0.0) ** (1.0 / power)


def margin_scores(eta_days, actual_days, *, power: float) -> np.ndarray:
    """Conformity scores of the promise: how far past the ETA each delivery came, on the ``power`` scale."""
    return _scaled(actual_days, power) - _scaled(eta_days, power)


def promise_days_from(eta_days, offset: float, *, power: float) -> np.ndarray:
    """Promise in days from the ETA: the ETA plus a non-negative margin ``offset`` on the ``power`` scale."""
    return _unscaled(_scaled(eta_days, power) + max(float(offset), 0.0), power)


def _events(history: pd.DataFrame, *, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Dated facts usable as history: hand-offs and deliveries that happened before ``as_of``."""
    handed = history[history["handed_to_carrier_at"].notna() & (history["handed_to_carrier_at"] < as_of)]
    handling = pd.DataFrame(
        {
            "t": handed["handed_to_carrier_at"].to_numpy(),
            "seller_id": handed["seller_id"].to_numpy(),
            "value": _log_days(handed["handed_to_carrier_at"] - handed["purchased_at"]),
        }
    )
    done = history[history["delivered_at"].notna() & (history["delivered_at"] < as_of)]
    transit_from = done["handed_to_carrier_at"].fillna(done["purchased_at"])
    delivered = pd.DataFrame(
        {
            "t": done["delivered_at"].to_numpy(),
            "seller_id": done["seller_id"].to_numpy(),
            "route": (done["seller_state"].fillna("?") + ">" + done["customer_state"].fillna("?")).to_numpy(),
            "value": _log_days(done["delivered_at"] - done["purchased_at"]),
            "transit": _log_days(done["delivered_at"] - transit_from),
        }
    )
    return {
        "handling": handling.sort_values("t", kind="stable").reset_index(drop=True),
        "delivered": delivered.sort_values("t", kind="stable").reset_index(drop=True),
    }


def _keyed_prior_stats(events: pd.DataFrame, key: str, value: str, keys: np.ndarray, times: np.ndarray):
    """Count and sum of ``value`` over events with the same key that happened strictly before each time."""
    count = np.zeros(len(keys))
    total = np.zeros(len(keys))
    if events.empty:
        return count, total
    grouped = {k: g for k, g in events.groupby(key, sort=False)}
    for k, index in pd.Series(np.arange(len(keys))).groupby(keys, sort=False):
        group = grouped.get(k)
        if group is None:
            continue
        event_times = group["t"].to_numpy()
        cumulative = np.concatenate([[0.0], np.cumsum(group[value].to_numpy())])
        position = np.searchsorted(event_times, times[index.to_numpy()], side="left")
        count[index.to_numpy()] = position
        total[index.to_numpy()] = cumulative[position]
    return count, total


def _window_mean(events: pd.DataFrame, value: str, times: np.ndarray, window: pd.Timedelta, default: float):
    """Mean of ``value`` over events in [time - window, time)."""
    if events.empty:
        return np.full(len(times), default)
    event_times = events["t"].to_numpy()
    cumulative = np.concatenate([[0.0], np.cumsum(events[value].to_numpy())])
    hi = np.searchsorted(event_times, times, side="left")
    lo = np.searchsorted(event_times, times - window.to_timedelta64(), side="left")
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cumulative[hi] - cumulative[lo]) / n
    return np.where(n >= 5, mean, default)


def conformal_quantile(scores, *, miss_share: float) -> float:
    """Split-conformal threshold: the ceil((n+1)(1-miss_share))-th smallest score (the largest when past n).

    A new score from the same distribution exceeds it with probability at most ``miss_share``.
    """
    ordered = np.sort(np.asarray(scores, dtype=float))
    if not len(ordered):
        raise ValueError("no calibration scores")
    rank = min(len(ordered), math.ceil((len(ordered) + 1) * (1 - miss_share)))
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class DeliveryPrediction:
    """Columns returned by ``DeliveryTimeModel.predict`` (documented here; the result is a DataFrame)."""

    order_id: str
    eta_days: float
    promise_days: float
    eta_date: object
    promise_date: object
    late_risk: float


class DeliveryTimeModel:
    """Delivery-time model: ETA (centre of log days), conformal promise (centre + calibrated offset), late risk."""

    def __init__(self, params: DeliveryParams | None = None):
        self.params = params or DeliveryParams()

    # ----------------------------------------------------------------- features
    def _features(self, orders: pd.DataFrame, *, feature_time: np.ndarray) -> pd.DataFrame:
        p = self.params
        events = self.events_
        prior_handling, prior_delivery = self.prior_handling_, self.prior_delivery_
        frame = pd.DataFrame(index=orders.index)
        frame["distance_km"] = haversine_km(
            orders["seller_lat"], orders["seller_lng"], orders["customer_lat"], orders["customer_lng"]
        )
        frame["same_state"] = (orders["seller_state"] == orders["customer_state"]).astype(float)
        for column in ("customer_lat", "customer_lng", "seller_lat", "seller_lng", "weight_g", "volume_cm3"):
            frame[column] = pd.to_numeric(orders[column], errors="coerce").astype(float)
        frame["freight_value"] = pd.to_numeric(orders["freight_value"], errors="coerce").astype(float)
        frame["price"] = pd.to_numeric(orders["price"], errors="coerce").astype(float)
        frame["items"] = pd.to_numeric(orders["items"], errors="coerce").astype(float)
        frame["freight_share"] = frame["freight_value"] / (frame["freight_value"] + frame["price"]).replace(0, np.nan)
        purchased = orders["purchased_at"]
        frame["dow"] = purchased.dt.dayofweek.astype(float)
        frame["hour"] = purchased.dt.hour.astype(float)
        angle = 2 * np.pi * purchased.dt.dayofyear.to_numpy(dtype=float) / 365.25
        frame["doy_sin"], frame["doy_cos"] = np.sin(angle), np.cos(angle)

        sellers = orders["seller_id"].fillna("?").to_numpy()
        n, total = _keyed_prior_stats(events["handling"], "seller_id", "value", sellers, feature_time)
        frame["seller_handling"] = (total + p.smoothing * prior_handling) / (n + p.smoothing)
        frame["seller_handling_n"] = n
        n_t, total_t = _keyed_prior_stats(events["delivered"], "seller_id", "transit", sellers, feature_time)
        frame["seller_transit"] = (total_t + p.smoothing * self.prior_transit_) / (n_t + p.smoothing)
        routes = (orders["seller_state"].fillna("?") + ">" + orders["customer_state"].fillna("?")).to_numpy()
        n_r, total_r = _keyed_prior_stats(events["delivered"], "route", "value", routes, feature_time)
        frame["route_days"] = (total_r + 2 * p.smoothing * prior_delivery) / (n_r + 2 * p.smoothing)
        frame["route_n"] = n_r
        window = pd.Timedelta(days=p.network_window_days)
        frame["network_days"] = _window_mean(events["delivered"], "value", feature_time, window, prior_delivery)
        frame["network_handling"] = _window_mean(events["handling"], "value", feature_time, window, prior_handling)
        for column in CATEGORICAL:
            codes = {value: i for i, value in enumerate(self.categories_[column])}
            frame[column] = orders[column].map(codes).astype(float)
        frame = frame[NUMERIC + CATEGORICAL]
        # A column with no value at all (e.g. no product has dimensions) cannot be binned: use a constant.
        if not hasattr(self, "empty_columns_"):
            self.empty_columns_ = [c for c in frame.columns if frame[c].isna().all()]
        return frame.fillna(dict.fromkeys(self.empty_columns_, 0.0))

    def _feature_time(self, orders: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
        # Features of an order purchased after as-of can only use what was known at as-of.
        return np.minimum(orders["purchased_at"].to_numpy(), as_of.to_datetime64())

    def _regressor(self) -> HistGradientBoostingRegressor:
        p = self.params
        return HistGradientBoostingRegressor(
            loss="squared_error",
            max_iter=p.max_iter,
            learning_rate=p.learning_rate,
            max_leaf_nodes=p.max_leaf_nodes,
            min_samples_leaf=p.min_samples_leaf,
            l2_regularization=1.0,
            categorical_features=[NUMERIC.__len__() + i for i in range(len(CATEGORICAL))],
            random_state=p.random_state,
        )

    def _prepare(self, history: pd.DataFrame, as_of: pd.Timestamp) -> None:
        p = self.params
        self.__dict__.pop("empty_columns_", None)
        self.events_ = _events(history, as_of=as_of)
        self.prior_handling_ = (
            float(np.median(self.events_["handling"]["value"])) if len(self.events_["handling"]) else 0.7
        )
        delivered = self.events_["delivered"]
        self.prior_delivery_ = float(np.median(delivered["value"])) if len(delivered) else 2.4
        self.prior_transit_ = float(np.median(delivered["transit"])) if len(delivered) else 2.0
        known = history[history["purchased_at"] < as_of]
        self.categories_ = {}
        for column in CATEGORICAL:
            # Most frequent first, ties by value: value_counts breaks ties by first appearance, which made the
            # category codes, and so the trees, depend on the order of the rows handed in.
            counts = known[column].dropna().value_counts()
            ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
            limit = p.top_categories if column == "category" else 250
            self.categories_[column] = [value for value, _ in ordered[:limit]]

    def _level(self, X: pd.DataFrame) -> np.ndarray | float:
        """The part of log days the trees do not learn: the network's recent speed (0 for older models)."""
        return X["network_days"].to_numpy(dtype=float) if getattr(self, "relative_", False) else 0.0

    def _fit_centre(self, train: pd.DataFrame, as_of: pd.Timestamp) -> HistGradientBoostingRegressor:
        """The centre model of log delivery days (relative to the network level when ``relative_``)."""
        p = self.params
        train = self._settled(train, as_of)
        self.fitted_rows_ = len(train)
        X = self._features(train, feature_time=train["purchased_at"].to_numpy())
        y = _log_days(train["delivered_at"] - train["purchased_at"]) - self._level(X)
        age_days = ((as_of - train["purchased_at"]) / DAY).to_numpy(dtype=float)
        weight = 0.5 ** (age_days / p.half_life_days)
        # Recency as frequency weights (rows repeated): scikit-learn's weighted binning is many times slower.
        repeats = np.maximum(1, np.rint(p.recency_repeats * weight)).astype(int)
        X, y = X.loc[X.index.repeat(repeats)].reset_index(drop=True), np.repeat(y, repeats)
        with threadpool_limits(limits=p.threads):
            return self._regressor().fit(X, y)

    def _calibration_gap(self, orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.Timedelta:
        p = self.params
        if p.calibration_gap_days is not None:
            return pd.Timedelta(days=p.calibration_gap_days)
        rows = self._training_rows(orders, as_of)
        old = rows[rows["purchased_at"] <= as_of - pd.Timedelta(days=p.settled_days)]
        if len(old) < 50:
            return pd.Timedelta(days=15)
        days = ((old["delivered_at"] - old["purchased_at"]) / DAY).to_numpy(dtype=float)
        return pd.Timedelta(days=math.ceil(np.quantile(days, 1 - p.target_late_share)))

    def _settled(self, train: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        """The training rows whose outcome was settled at ``as_of``: purchased long enough before it that at least
        ``complete_share`` of orders then would have been delivered by it (from the delivery times of orders
        purchased ``settled_days`` or more before it).

        Among the last weeks' purchases only the fast deliveries are known yet; learning from them (the most
        heavily weighted rows) makes the ETA too early.
        """
        p = self.params
        age = ((as_of - train["purchased_at"]) / DAY).to_numpy(dtype=float)
        days = ((train["delivered_at"] - train["purchased_at"]) / DAY).to_numpy(dtype=float)
        old = np.sort(days[age >= p.settled_days])
        if p.complete_share <= 0 or len(old) < 50:
            return train
        complete = np.searchsorted(old, age, side="right") / len(old)
        settled = train[complete >= p.complete_share]
        return settled if len(settled) >= 30 else train

    def _centre(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=self.params.threads):
            return self.centre_.predict(X) + self._level(X)

    @staticmethod
    def _training_rows(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        rows = orders[orders["delivered_at"].notna() & (orders["delivered_at"] < as_of)]
        return rows[rows["delivered_at"] > rows["purchased_at"]]

    # ----------------------------------------------------------------- public API
    def fit(self, orders: pd.DataFrame, *, as_of) -> DeliveryTimeModel:
        """Learn from orders delivered before ``as_of``; calibrate the promise on the latest complete window."""
        p = self.params
        as_of = pd.Timestamp(as_of)
        orders = _coerce(orders)
        # Calibration: a model as of cal_start predicts the orders purchased in the window after it.
        cal_end = as_of - self._calibration_gap(orders, as_of)
        cal_start = cal_end - pd.Timedelta(days=p.calibration_days)
        self.calibration_window_ = (cal_start, cal_end)
        self._prepare(orders, cal_start)
        inner_train = self._training_rows(orders, cal_start)
        window = self._training_rows(orders, as_of)
        window = window[(window["purchased_at"] >= cal_start) & (window["purchased_at"] < cal_end)]
        self.relative_ = p.relative_to_network
        if len(inner_train) >= 200 and len(window) >= 50:
            self.centre_ = self._fit_centre(inner_train, cal_start)
            self.as_of_ = cal_start
            X = self._features(window, feature_time=self._feature_time(window, cal_start))
            self._calibrate(window, self._centre(X))
            self.calibration_metrics_ = delivery_metrics(self.predict(window), window["delivered_at"])
        else:
            self.residuals_, self.offset_, self.calibration_size_, self.score_power_ = None, None, 0, 0.0
            self.calibration_metrics_ = {}

        self._prepare(orders, as_of)
        train = self._training_rows(orders, as_of)
        if len(train) < 30:
            raise ValueError(f"only {len(train)} orders delivered before {as_of:%Y-%m-%d}; need at least 30 to train")
        self.centre_ = self._fit_centre(train, as_of)
        if self.residuals_ is None:
            # Too little recent data for a separate window: fall back to in-sample residuals (optimistic).
            X = self._features(train, feature_time=train["purchased_at"].to_numpy())
            self._calibrate(train, self._centre(X))
            self.calibration_size_ = 0
        self.as_of_ = as_of
        self.training_rows_ = len(train)
        self.data_start_ = train["purchased_at"].min()
        self.data_end_ = train["delivered_at"].max()
        return self

    def _calibrate(self, rows: pd.DataFrame, centre_log_days: np.ndarray) -> None:
        """Conformal promise margin from ``rows`` (delivered orders predicted as they would have been live).

        For every candidate score scale: the (1 - target) conformal quantile of (actual - ETA) on that scale, and the
        mean slack it gives on these rows; the scale with the least slack is kept.
        """
        p = self.params
        actual = np.maximum((rows["delivered_at"] - rows["purchased_at"]) / DAY, MIN_DAYS).to_numpy(dtype=float)
        eta = np.exp(centre_log_days)
        best = None
        for power in p.score_powers or (0.0,):
            scores = margin_scores(eta, actual, power=power)
            offset = conformal_quantile(scores, miss_share=p.target_late_share)
            slack = float(np.mean(promise_days_from(eta, offset, power=power) - actual))
            if best is None or slack < best[0]:
                best = (slack, power, scores, offset)
        _, self.score_power_, scores, self.offset_ = best
        self.residuals_ = np.sort(scores)
        self.calibration_size_ = len(scores)

    def offset_for(self, target_late_share: float | None) -> float:
        """The promise offset (log days above the ETA) for a late share; the trained one when ``None``.

        Re-derived from the stored calibration residuals, so a store that changes its target does not have to
        wait for the next training.
        """
        if target_late_share is None or target_late_share == self.params.target_late_share:
            return float(self.offset_)
        if not 0 < target_late_share < 0.5:
            raise ValueError(f"target late share must be between 0 and 0.5, got {target_late_share}")
        return conformal_quantile(self.residuals_, miss_share=target_late_share)

    def predict(self, orders: pd.DataFrame, *, now=None, target_late_share: float | None = None) -> pd.DataFrame:
        """ETA and promise per order; ``late_risk`` is P(delivered after the promise | not delivered by ``now``).

        ``target_late_share`` (default: the one trained with) sets how high a quantile the promise is.
        """
        orders = _coerce(orders)
        X = self._features(orders, feature_time=self._feature_time(orders, self.as_of_))
        median = self._centre(X) if len(X) else np.zeros(0)  # the trees refuse an empty frame
        spread = np.ones(len(X))
        power = getattr(self, "score_power_", 0.0)
        purchased = orders["purchased_at"]
        eta_days = np.exp(median)
        promise_days = promise_days_from(eta_days, self.offset_for(target_late_share), power=power)
        promise_at = purchased + pd.to_timedelta(promise_days, unit="D")
        # The promise is a whole date: the customer is told "by <date>", delivered on that date is on time.
        promise_date = promise_at.dt.normalize()
        now = self.as_of_ if now is None else pd.Timestamp(now)
        elapsed = np.maximum(((now - purchased) / DAY).to_numpy(dtype=float), 0.0)
        promise_end_days = ((promise_date + DAY - purchased) / DAY).to_numpy(dtype=float)
        late_risk = self.late_risk(
            median_log_days=median, spread=spread, promise_days=promise_end_days, elapsed_days=elapsed
        )
        return pd.DataFrame(
            {
                "order_id": orders["order_id"].to_numpy(),
                "purchased_at": purchased.to_numpy(),
                "eta_days": eta_days,
                "promise_days": promise_days,
                "eta_date": (purchased + pd.to_timedelta(eta_days, unit="D")).dt.normalize().dt.date.to_numpy(),
                "promise_date": promise_date.dt.date.to_numpy(),
                "late_risk": late_risk,
            },
            index=orders.index,
        )

    def late_risk(self, *, median_log_days, spread, promise_days, elapsed_days) -> np.ndarray:
        """P(T > promise | T > elapsed) from the calibrated distribution of normalised residuals."""
        median_log_days = np.asarray(median_log_days, dtype=float)
        spread = np.asarray(spread, dtype=float)
        residuals = self.residuals_
        n = len(residuals)
        power = getattr(self, "score_power_", 0.0)

        def survival(days):
            threshold = (_scaled(days, power) - _scaled(np.exp(median_log_days), power)) / spread
            return (n - np.searchsorted(residuals, threshold, side="right") + 0.5) / (n + 1.0)

        risk = survival(promise_days) / survival(np.minimum(elapsed_days, promise_days))
        risk = np.where(np.asarray(elapsed_days) >= np.asarray(promise_days), 1.0, risk)
        return np.clip(risk, 0.0, 1.0)

    def summary(self) -> dict:
        return {
            "as_of": str(self.as_of_.date()),
            "training_rows": int(self.training_rows_),
            "fitted_rows": int(getattr(self, "fitted_rows_", self.training_rows_)),
            "calibration_window": [str(t.date()) for t in getattr(self, "calibration_window_", ())],
            "calibration_rows": int(self.calibration_size_),
            "promise_offset": round(float(self.offset_), 4),
            "promise_scale": "log days" if getattr(self, "score_power_", 0.0) == 0 else f"days^{self.score_power_:g}",
            "relative_to_network": bool(getattr(self, "relative_", False)),
            "calibration": {k: round(float(v), 4) for k, v in self.calibration_metrics_.items()},
            "params": self.params.as_dict(),
        }


def _coerce(orders: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise ValueError(f"order frame lacks columns: {', '.join(missing)}")
    orders = orders.copy()
    for column in ("purchased_at", "approved_at", "handed_to_carrier_at", "delivered_at"):
        orders[column] = pd.to_datetime(orders[column])
        if getattr(orders[column].dt, "tz", None) is not None:
            orders[column] = orders[column].dt.tz_convert("UTC").dt.tz_localize(None)
    for column in ("seller_id", "seller_state", "customer_state", "carrier", "category"):
        orders[column] = orders[column].astype(object).where(orders[column].notna(), None)
    return orders


def known_as_of(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """The order frame as it stood at ``as_of``: every fact (approval, hand-off, delivery) dated on/after it blanked.

    Training and benchmarks pass orders through this before ``fit`` / ``predict``, so leak-freeness does not rest
    on the model's own filtering alone.
    """
    as_of = pd.Timestamp(as_of)
    frame = orders.copy()
    for column in ("approved_at", "handed_to_carrier_at", "delivered_at"):
        frame[column] = pd.to_datetime(frame[column])
        frame.loc[frame[column] >= as_of, column] = pd.NaT
    return frame


def delivery_metrics(predictions: pd.DataFrame, delivered_at: pd.Series) -> dict:
    """Share late vs the promise, mean slack (promise date - delivery date) and ETA MAE, all in days."""
    delivered_date = pd.to_datetime(delivered_at).dt.normalize()
    promise = pd.to_datetime(predictions["promise_date"])
    eta = pd.to_datetime(predictions["eta_date"])
    slack = (promise - delivered_date) / DAY
    return {
        "orders": len(predictions),
        "late_share": float((slack < 0).mean()),
        "mean_slack_days": float(slack.mean()),
        "eta_mae_days": float(((eta - delivered_date) / DAY).abs().mean()),
    }


def handling_time_estimates(orders: pd.DataFrame, *, as_of, smoothing: float = 5.0) -> pd.DataFrame:
    """Per seller: expected handling days (approval -> carrier hand-off) from hand-offs before ``as_of``.

    The estimate is a geometric mean shrunk towards the network's (``smoothing`` pseudo-orders), so a seller
    with two hand-offs is not judged on them alone. Columns: seller_id, handoffs, median_days, p90_days,
    expected_days.
    """
    as_of = pd.Timestamp(as_of)
    orders = _coerce(orders)
    known = orders[orders["handed_to_carrier_at"].notna() & (orders["handed_to_carrier_at"] < as_of)].copy()
    columns = ["seller_id", "handoffs", "median_days", "p90_days", "expected_days"]
    if known.empty:
        return pd.DataFrame(columns=columns)
    start = known["approved_at"].fillna(known["purchased_at"])
    known["days"] = np.maximum((known["handed_to_carrier_at"] - start) / DAY, 0.0)
    known["log_days"] = np.log(known["days"] + MIN_DAYS)
    prior = float(known["log_days"].mean())
    grouped = known.groupby("seller_id")
    table = pd.DataFrame(
        {
            "handoffs": grouped.size(),
            "median_days": grouped["days"].median(),
            "p90_days": grouped["days"].quantile(0.9),
            "log_sum": grouped["log_days"].sum(),
        }
    )
    table["expected_days"] = np.exp((table["log_sum"] + smoothing * prior) / (table["handoffs"] + smoothing)) - MIN_DAYS
    table = table.reset_index().sort_values(["expected_days", "seller_id"], ascending=[False, True])
    return table[columns].round({"median_days": 2, "p90_days": 2, "expected_days": 2}).reset_index(drop=True)

"""Repeat purchase and lifetime value: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b).

Pure numpy / scipy / pandas, no Django. Fitted by maximum likelihood; the likelihoods are written out in full
so they can be checked by hand (see tests/catalog/test_customers_clv.py) and against the published CDNOW
figures (``benchmarks/clv.py``).

Notation (per customer, time in any unit, usually weeks):
- ``frequency`` x: number of *repeat* purchase occasions in the calibration window (first purchase excluded);
- ``recency`` t_x: time from the first to the last purchase;
- ``T``: time from the first purchase to the end of the calibration window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer",
    date_col: str = "date",
    monetary_col: str | None = "amount",
    calibration_end: pd.Timestamp,
    observation_end: pd.Timestamp | None = None,
    days_per_unit: float = 7.0,
) -> pd.DataFrame:
    """Summarise a transaction log into frequency / recency / T (and mean repeat spend).

    Transactions of one customer on the same day are one purchase occasion (their amounts are summed).
    Only customers whose first purchase is on or before ``calibration_end`` are kept. When ``observation_end``
    is given, ``frequency_holdout`` counts the purchase occasions after ``calibration_end`` up to it.
    """
    df = transactions[[customer_col, date_col] + ([monetary_col] if monetary_col else [])].copy()
    df[date_col] = pd.to_datetime(df[date_col]).dt.normalize()
    if monetary_col is None:
        df["_amount"] = 0.0
        monetary_col = "_amount"
    daily = df.groupby([customer_col, date_col], sort=True)[monetary_col].sum().reset_index()
    first = daily.groupby(customer_col)[date_col].transform("min")
    daily = daily[first <= calibration_end]
    first = first[first <= calibration_end]
    calib = daily[daily[date_col] <= calibration_end]
    grouped = calib.groupby(customer_col)
    out = pd.DataFrame(
        {
            "first": grouped[date_col].min(),
            "last": grouped[date_col].max(),
            "occasions": grouped.size(),
            "total": grouped[monetary_col].sum(),
            "first_amount": grouped[monetary_col].first(),
        }
    )
    out["frequency"] = out["occasions"] - 1
    out["recency"] = (out["last"] - out["first"]).dt.days / days_per_unit
    out["T"] = (calibration_end - out["first"]).dt.days / days_per_unit
    repeat_total = out["total"] - out["first_amount"]
    out["monetary_value"] = np.where(out["frequency"] > 0, repeat_total / out["frequency"].clip(lower=1), 0.0)
    if observation_end is not None:
        hold = daily[(daily[date_col] > calibration_end) & (daily[date_col] <= observation_end)]
        out["frequency_holdout"] = hold.groupby(customer_col).size().reindex(out.index, fill_value=0)
        out["monetary_holdout"] = hold.groupby(customer_col)[monetary_col].sum().reindex(out.index, fill_value=0.0)
    out.index.name = customer_col
    return out.drop(columns=["occasions", "total", "first_amount"])


def _as_arrays(frequency, recency, T):
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t_big = np.asarray(T, dtype=float)
    if np.any(x < 0) or np.any(tx < 0) or np.any(tx > t_big + 1e-9):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T for every customer")
    if np.any((x == 0) & (tx > 0)):
        raise ValueError("a customer without repeat purchases must have recency 0")
    return x, tx, t_big


def bgnbd_log_likelihood_terms(r: float, alpha: float, a: float, b: float, frequency, recency, T) -> np.ndarray:
    """Per-customer log-likelihood of the BG/NBD model (equation 6 of Fader, Hardie & Lee 2005)."""
    x, tx, t_big = _as_arrays(frequency, recency, T)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    # term 1: still alive at T
    a1 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + t_big)
    # term 2 (only x > 0): dropped out right after the last purchase
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = np.where(
            x > 0,
            special.betaln(a + 1, b + np.maximum(x, 1) - 1) - special.betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return common + np.logaddexp(a1, a2)


def _minimize(negll, start: np.ndarray, *, max_iter: int):
    """Minimise a smooth negative log-likelihood over log-parameters: L-BFGS-B with tight tolerances (about
    130 likelihood evaluations on CDNOW, the published optimum to 4 decimals), falling back to Nelder-Mead then
    L-BFGS-B (thousands of evaluations) only when it ends at a non-finite likelihood. Each evaluation costs
    O(customers), so this is what the train step of the customers job spends its time on.

    An "abnormal" line-search stop is accepted: at these tolerances it means no further decrease could be
    measured, which is also what happens when the optimum lies at a boundary (e.g. a -> 0, b -> inf when no
    customer ever drops out); sending such data to Nelder-Mead cost 10,000 evaluations (2 minutes on 200k
    customers) for the same degenerate point."""
    options = {"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10}
    result = optimize.minimize(negll, start, method="L-BFGS-B", options=options)
    if np.isfinite(result.fun) and result.fun < 1e12:
        return result
    result = optimize.minimize(
        negll, start, method="Nelder-Mead", options={"maxiter": max_iter, "xatol": 1e-8, "fatol": 1e-12}
    )
    return optimize.minimize(negll, result.x, method="L-BFGS-B", options=options)


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float


class BetaGeoModel:
    """BG/NBD: purchases follow Poisson(λ), λ ~ Gamma(r, α); after each purchase the customer drops out with
    probability p, p ~ Beta(a, b). sklearn-style: ``fit(frequency, recency, T)`` then predict.
    """

    def __init__(self, *, penalizer: float = 0.0, max_iter: int = 2000):
        self.penalizer = penalizer
        self.max_iter = max_iter

    def fit(self, frequency, recency, T, *, weights=None) -> BetaGeoModel:
        x, tx, t_big = _as_arrays(frequency, recency, T)
        # identical (x, t_x, T) rows share a likelihood term: fit on the unique rows with counts
        frame = pd.DataFrame({"x": x, "tx": tx, "T": t_big, "w": 1.0 if weights is None else np.asarray(weights)})
        grouped = frame.groupby(["x", "tx", "T"], sort=False)["w"].sum().reset_index()
        gx, gtx, gt, gw = (grouped[c].to_numpy() for c in ("x", "tx", "T", "w"))
        scale = max(float(np.mean(gt)), 1e-9)

        def negll(log_params):
            r, alpha, a, b = np.exp(log_params)
            ll = bgnbd_log_likelihood_terms(r, alpha, a, b, gx, gtx, gt)
            penalty = self.penalizer * float(np.sum(np.exp(log_params) ** 2))
            value = -(gw * ll).sum() / gw.sum() + penalty
            return value if np.isfinite(value) else 1e12

        result = _minimize(negll, np.log([1.0, scale, 1.0, 1.0]), max_iter=self.max_iter)
        self.params_ = BGNBDParams(*map(float, np.exp(result.x)))
        self.log_likelihood_ = float(-negll(result.x) * gw.sum()) if self.penalizer == 0 else float("nan")
        self.converged_ = bool(result.success)
        self.n_customers_ = int(gw.sum())
        return self

    @classmethod
    def from_params(cls, params: BGNBDParams) -> BetaGeoModel:
        model = cls()
        model.params_ = params
        return model

    def log_likelihood(self, frequency, recency, T) -> float:
        p = self.params_
        return float(bgnbd_log_likelihood_terms(p.r, p.alpha, p.a, p.b, frequency, recency, T).sum())

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive | x, t_x, T); exactly 1 for customers with no repeat purchase (they cannot have dropped)."""
        x, tx, t_big = _as_arrays(frequency, recency, T)
        p = self.params_
        with np.errstate(divide="ignore", over="ignore"):
            log_ratio = (
                np.log(p.a)
                - np.log(p.b + np.maximum(x, 1) - 1)
                + (p.r + x) * (np.log(p.alpha + t_big) - np.log(p.alpha + tx))
            )
            odds = np.where(x > 0, np.exp(log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)]: expected purchases of a new customer in (0, t] (unconditional)."""
        p = self.params_
        t = np.asarray(t, dtype=float)
        hyp = special.hyp2f1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t))
        return (p.a + p.b - 1) / (p.a - 1) * (1 - (p.alpha / (p.alpha + t)) ** p.r * hyp)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units (equation 10)."""
        x, tx, t_big = _as_arrays(frequency, recency, T)
        p = self.params_
        t = np.asarray(t, dtype=float)
        hyp = special.hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, t / (p.alpha + t_big + t))
        first = (p.a + p.b + x - 1) / (p.a - 1)
        second = 1 - ((p.alpha + t_big) / (p.alpha + t_big + t)) ** (p.r + x) * hyp
        with np.errstate(divide="ignore", over="ignore"):
            odds = np.where(
                x > 0,
                p.a / (p.b + np.maximum(x, 1) - 1) * ((p.alpha + t_big) / (p.alpha + tx)) ** (p.r + x),
                0.0,
            )
        return first * second / (1 + odds)


def expected_cumulative_repeats(model: BetaGeoModel, first_purchase, ends, *, days_per_unit: float = 7.0) -> np.ndarray:
    """Expected cumulative repeat purchases of a cohort by each date in ``ends`` (Fader, Hardie & Lee 2005,
    the tracking plot): sum over customers born before the date of E[X(end - first purchase)].

    Elapsed time is measured in whole days from the day of the first purchase to the last day counted, the
    same convention as T in ``rfm_summary`` (so at the calibration end every customer's elapsed time is his
    T); customers born after a date contribute nothing to it."""
    first = pd.to_datetime(pd.Series(first_purchase)).dt.normalize().to_numpy()
    out = []
    for end in ends:
        elapsed = (np.datetime64(pd.Timestamp(end).normalize()) - first) / np.timedelta64(1, "D") / days_per_unit
        alive = elapsed > 0
        out.append(float(model.expected_purchases(elapsed[alive]).sum()))
    return np.array(out)


def gamma_gamma_log_likelihood_terms(p: float, q: float, v: float, frequency, monetary_value) -> np.ndarray:
    """Per-customer log-likelihood of the Gamma-Gamma spend model (customers with frequency > 0 only)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + m * x)
    )


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


class GammaGammaModel:
    """Gamma-Gamma: a customer's transaction values are Gamma(p, ν), ν ~ Gamma(q, γ) across customers.

    Fit on repeat customers (frequency > 0) with their mean repeat transaction value.
    """

    def fit(self, frequency, monetary_value) -> GammaGammaModel:
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        keep = (x > 0) & (m > 0)
        if keep.sum() < 3:
            raise ValueError("Gamma-Gamma needs at least 3 customers with repeat purchases and positive spend")
        x, m = x[keep], m[keep]

        def negll(log_params):
            value = -gamma_gamma_log_likelihood_terms(*np.exp(log_params), x, m).mean()
            return value if np.isfinite(value) else 1e12

        result = _minimize(negll, np.log([1.0, 1.0, float(np.mean(m))]), max_iter=4000)
        self.params_ = GammaGammaParams(*map(float, np.exp(result.x)))
        self.mean_spend_ = float(np.mean(m))
        return self

    def conditional_expected_average_spend(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m_x]; customers without repeats get the population mean p·γ/(q-1) (or the sample mean)."""
        g = self.params_
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        population = g.p * g.v / (g.q - 1) if g.q > 1 else self.mean_spend_
        with np.errstate(divide="ignore", invalid="ignore"):
            individual = g.p * (g.v + x * m) / (g.p * x + g.q - 1)
        return np.where(x > 0, individual, population)


def customer_lifetime_value(
    bgnbd: BetaGeoModel,
    spend: GammaGammaModel,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    horizon_periods: int = 12,
    period_length: float = 30.0 / 7.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted CLV over ``horizon_periods`` periods of ``period_length`` time units (default: 12 months
    in weeks), discounting each period's expected purchases × expected spend × margin at ``discount_rate``."""
    value = np.zeros(len(np.asarray(frequency)), dtype=float)
    avg = spend.conditional_expected_average_spend(frequency, monetary_value)
    previous = np.zeros_like(value)
    for i in range(1, horizon_periods + 1):
        cumulative = bgnbd.conditional_expected_purchases(i * period_length, frequency, recency, T)
        value += (cumulative - previous) * avg * margin / (1 + discount_rate) ** i
        previous = cumulative
    return value


def churn_band(p_alive: float) -> str:
    """Band of churn risk from P(alive): high (< 0.3), medium (< 0.7), low."""
    if p_alive < 0.3:
        return "high"
    if p_alive < 0.7:
        return "medium"
    return "low"

"""Price-response (demand) model: log-log demand with own-price elasticity, cross-price effects of the closest
substitutes, promotions and seasonality, estimated with empirical-Bayes partial pooling.

Levels of pooling
-----------------
1. Product level: for each product, one regression pooled over all its locations with a fixed effect per
   (product, location) series. It estimates own-price elasticity, the elasticities to the log prices of the
   product's closest substitutes, last period's own price (post-promotion dip), display / feature / discount
   lifts, the substitutes' promotion pressure and a yearly Fourier seasonality. Standard errors are cluster-robust
   by location, because weekly errors of one store are correlated.
2. Category level: product coefficients are shrunk towards the precision-weighted category mean
   (James-Stein / empirical Bayes, between-product variance by method of moments), so that a thin product borrows
   strength from its category.
3. Series level: for every (product, location) series, own-price elasticity and the promotion lifts are
   re-estimated on the residual of the product model and shrunk towards the product values with the same
   empirical-Bayes rule, so a store with few weeks or little price variation keeps the product's elasticity.

Every elasticity carries a 95 % interval from its posterior variance; implausible estimates are flagged with a
reason (positive own-price elasticity, interval wider than ``wide_interval``, too few observations, no price
variation).

No Django imports here: DataFrames in, frozen dataclasses / DataFrames out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

Z95 = 1.959963984540054

#: Columns the model reads from the history frame.
REQUIRED_COLUMNS = ("product", "location", "period_start", "units", "price")
PROMO_COLUMNS = ("display", "feature", "discount")


@dataclass(frozen=True)
class PriceResponseParams:
    """Hyper-parameters of :class:`PriceResponseModel`."""

    n_substitutes: int = 4
    fourier_order: int = 1
    min_series_obs: int = 12
    wide_interval: float = 2.0
    use_lag_price: bool = True
    series_level: bool = True
    #: half-life (days) of the weights of the series level: recent weeks count more (store traffic drifts)
    level_half_life_days: float | None = 182.0


@dataclass(frozen=True)
class ElasticityRow:
    """One estimated own-price elasticity (product level when ``location`` is None)."""

    product: str
    location: str | None
    elasticity: float
    low: float
    high: float
    n_obs: int
    flags: tuple[str, ...] = ()
    explanation: str = ""


@dataclass
class _ProductFit:
    names: list[str]
    coef: np.ndarray
    cov: np.ndarray
    substitutes: list[str]
    n_obs: int
    residual_var: float = 0.0


@dataclass
class _SeriesFit:
    intercept: float
    own: float
    own_var: float
    promo: dict[str, float] = field(default_factory=dict)
    n_obs: int = 0


def _week_of_year(dates: pd.Series) -> np.ndarray:
    return (pd.to_datetime(dates).dt.dayofyear.to_numpy() - 1) / 365.25


@dataclass
class _Rows:
    """One product's rows as arrays, sorted by location then period (as ``_prepare`` leaves a frame), so each
    location's rows are one run: ``starts`` holds where each run begins, ``locations`` its location.

    Slices of the whole frame's arrays (views, not copies): the per-product pandas indexing, grouping and
    ``to_numpy`` calls this replaces were most of the fit time of a marketplace with 20k products."""

    location: np.ndarray
    dates: np.ndarray
    log_price: np.ndarray
    promos: dict[str, np.ndarray]
    t: np.ndarray  # time of year in [0, 1)
    cell: np.ndarray  # the row's (location, period) code in the cell table in use
    y: np.ndarray | None
    order: np.ndarray | None
    starts: np.ndarray
    locations: np.ndarray

    def __len__(self) -> int:
        return len(self.location)

    def runs(self):
        """(location, slice) of each location's rows."""
        stops = [*self.starts[1:], len(self)]
        return [(loc, slice(a, b)) for loc, a, b in zip(self.locations, self.starts, stops, strict=True)]


def _product_rows(frame: pd.DataFrame, cells: _Cells) -> list[tuple[str, _Rows]]:
    """The rows of each product of a frame sorted by product, location and period (``_prepare``)."""
    product = frame["product"].to_numpy()
    location = frame["location"].to_numpy()
    n = len(frame)
    new_product = np.ones(n, dtype=bool)
    new_product[1:] = product[1:] != product[:-1]
    new_run = new_product.copy()
    new_run[1:] |= location[1:] != location[:-1]
    product_starts = np.flatnonzero(new_product)
    product_stops = [*product_starts[1:], n]
    run_starts = np.flatnonzero(new_run)
    columns = {
        "location": location,
        "dates": frame["period_start"].to_numpy(),
        "log_price": frame["log_price"].to_numpy(dtype=float),
        "t": _week_of_year(frame["period_start"]),
        "cell": cells.codes(frame),
        "y": frame["y"].to_numpy(dtype=float) if "y" in frame.columns else None,
        "order": frame["_order"].to_numpy() if "_order" in frame.columns else None,
    }
    promos = {c: frame[c].to_numpy(dtype=float) for c in PROMO_COLUMNS}
    result = []
    for a, b in zip(product_starts, product_stops, strict=True):
        span = slice(a, b)
        runs = run_starts[np.searchsorted(run_starts, a) : np.searchsorted(run_starts, b)]
        result.append(
            (
                product[a],
                _Rows(
                    **{k: (v[span] if v is not None else None) for k, v in columns.items()},
                    promos={c: v[span] for c, v in promos.items()},
                    starts=runs - a,
                    locations=location[runs],
                ),
            )
        )
    return result


def _prepare(history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks columns: {', '.join(missing)}")
    frame = history.copy()
    frame["product"] = frame["product"].astype(str)
    frame["location"] = frame["location"].astype(str)
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    if "category" not in frame.columns:
        frame["category"] = "all"
    frame["category"] = frame["category"].fillna("all").astype(str)
    for column in PROMO_COLUMNS:
        frame[column] = frame[column].astype(float) if column in frame.columns else 0.0
    frame["price"] = frame["price"].astype(float)
    if (frame["price"] <= 0).any():
        raise ValueError("every price must be positive")
    frame["log_price"] = np.log(frame["price"])
    return frame.sort_values(["product", "location", "period_start"]).reset_index(drop=True)


def choose_substitutes(frame: pd.DataFrame, n: int) -> dict[str, list[str]]:
    """The ``n`` closest substitutes of each product: same category, most similar median price.

    Price tier is the most robust similarity we have for any catalogue (co-movement needs long overlapping
    histories); for the small Dominick's category every other brand is within reach.
    """
    medians = frame.groupby("product")["log_price"].median()
    category = frame.groupby("product")["category"].first().reindex(medians.index)
    result: dict[str, list[str]] = {}
    for members in pd.Series(np.arange(len(medians))).groupby(category.to_numpy(), sort=False).groups.values():
        members = np.sort(np.asarray(members))  # the products' (sorted) order: ties go to the first
        names = medians.index[members]
        levels = medians.to_numpy()[members]
        distance = np.abs(levels[None, :] - levels[:, None])
        np.fill_diagonal(distance, np.inf)
        take = min(n, len(members) - 1)
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :take]
        for i, product in enumerate(names):
            result[product] = list(names[nearest[i]])
    return {product: result[product] for product in medians.index}


class PriceResponseModel:
    """Hierarchical log-log price-response model (see module docstring). sklearn-style ``fit`` / ``predict``."""

    def __init__(self, params: PriceResponseParams | None = None):
        self.params = params or PriceResponseParams()

    # ----------------------------------------------------------------- features
    def __setstate__(self, state):
        # Models pickled before the cell table kept wide (location, period) x product tables of log prices and
        # promotion scores: a marketplace's 20k products made them gigabytes, mostly empty.
        if "price_table_" in state:
            state["cells_"] = _Cells.from_wide(state.pop("price_table_"), _promo_frame(state.pop("promo_table_", None)))
        self.__dict__.update(state)

    def _features(self, rows: _Rows, product: str, cells: _Cells) -> tuple[np.ndarray, list[str]]:
        """Feature columns of one product's rows; the substitutes' prices and promotions are looked up in ``cells``
        (the one ``rows.cell`` codes refer to)."""
        columns: dict[str, np.ndarray] = {"own": rows.log_price}
        for sub in self.substitutes_.get(product, []):
            log_price, promo = cells.values_at(rows.cell, sub)
            fallback = self.median_log_price_.get(sub, 0.0)
            columns[f"cross:{sub}"] = np.where(np.isnan(log_price), fallback, log_price)
            columns[f"cross_promo:{sub}"] = np.where(np.isnan(promo), 0.0, promo)
        if self.params.use_lag_price:
            log_price = rows.log_price
            location = rows.location
            days = rows.dates.astype("datetime64[D]").astype(np.int64)
            same = np.zeros(len(rows), dtype=bool)
            same[1:] = location[1:] == location[:-1]
            usable = same.copy()
            usable[1:] &= (days[1:] - days[:-1]) <= 10
            lag = log_price.copy()
            lag[1:] = np.where(usable[1:], log_price[:-1], log_price[1:])
            columns["own_lag"] = lag
        for column in PROMO_COLUMNS:
            if self.promo_used_[column]:
                columns[column] = rows.promos[column]
        t = rows.t
        for k in range(1, self.params.fourier_order + 1):
            columns[f"sin{k}"] = np.sin(2 * np.pi * k * t)
            columns[f"cos{k}"] = np.cos(2 * np.pi * k * t)
        names = list(columns)
        return np.column_stack([np.asarray(columns[n], dtype=float) for n in names]), names

    # ---------------------------------------------------------------------- fit
    def fit(self, history: pd.DataFrame) -> PriceResponseModel:
        """Fit on a history frame with columns product, location, period_start, units, price
        (+ optional category, display, feature, discount). Rows with zero units are dropped (log demand)."""
        self.__dict__.pop("_product_levels_cache", None)
        frame = _prepare(history)
        frame = frame[frame["units"] > 0].copy()
        if frame.empty:
            raise ValueError("no rows with positive units to fit on")
        frame["y"] = np.log(frame["units"].astype(float))
        self.promo_used_ = {c: bool(frame[c].std() > 0) for c in PROMO_COLUMNS}
        self.substitutes_ = choose_substitutes(frame, self.params.n_substitutes)
        self.cells_ = _Cells.from_rows(frame)
        self.median_log_price_ = frame.groupby("product")["log_price"].median().to_dict()
        self.category_ = frame.groupby("product")["category"].first().to_dict()
        self.products_: dict[str, _ProductFit] = {}
        self.series_: dict[tuple[str, str], _SeriesFit] = {}
        self.series_intercepts_: dict[tuple[str, str], float] = {}
        by_product = [
            (product, rows, *self._features(rows, product, self.cells_))
            for product, rows in _product_rows(frame, self.cells_)
        ]
        for product, rows, X, names in by_product:
            self._fit_product(rows, product, X, names)
        self._shrink_products()
        for product, rows, X, _ in by_product:
            self._fit_series(rows, product, X)
        self.n_obs_ = len(frame)
        self.data_start_ = frame["period_start"].min()
        self.data_end_ = frame["period_start"].max()
        return self

    def _fit_product(self, rows: _Rows, product: str, X: np.ndarray, names: list[str]) -> None:
        y = rows.y
        n_groups = len(rows.starts)
        # within transformation: a fixed effect per series (product, location)
        Xd, yd = _demean(X, rows.starts), _demean(y[:, None], rows.starts)[:, 0]
        keep = Xd.std(axis=0) > 1e-9
        if len(y) - int(keep.sum()) - n_groups < 1 or not (np.abs(yd) > 1e-12).any():
            # Saturated (as many coefficients and series effects as weeks, e.g. a marketplace product sold in two
            # weeks at two prices), or the same units every week (a product that sells one unit in the weeks it
            # sells at all, whatever its price): it fits exactly, so its "standard errors" are zero and its
            # estimates would outweigh every real one in the category's pooling. Nothing is identified: the prior
            # fills it in.
            keep = np.zeros_like(keep)
        Xk = Xd[:, keep]
        ridge = 1e-6 * np.eye(Xk.shape[1])
        bread = np.linalg.pinv(Xk.T @ Xk + ridge)
        beta_k = bread @ Xk.T @ yd
        resid = yd - Xk @ beta_k
        scores = np.add.reduceat(Xk * resid[:, None], rows.starts, axis=0) if Xk.shape[1] else np.zeros((n_groups, 0))
        meat = scores.T @ scores  # cluster-robust by location: the sum of the outer products of each one's score
        dof = max(len(y) - Xk.shape[1] - n_groups, 1)
        if n_groups >= 5:
            scale = n_groups / (n_groups - 1) * (len(y) - 1) / dof
            cov_k = scale * bread @ meat @ bread
        else:
            cov_k = (resid @ resid / dof) * bread
        beta = np.zeros(len(names))
        cov = np.full((len(names), len(names)), 0.0)
        beta[keep] = beta_k
        cov[np.ix_(keep, keep)] = cov_k
        # coefficients not identified (no variation) get a vague prior variance so that pooling fills them
        for i in np.where(~keep)[0]:
            cov[i, i] = 1e6
        self.products_[product] = _ProductFit(
            names=names,
            coef=beta,
            cov=cov,
            substitutes=self.substitutes_.get(product, []),
            n_obs=len(y),
            residual_var=float(resid @ resid / dof),
        )
        intercepts = np.add.reduceat(y - X @ beta, rows.starts) / np.diff([*rows.starts, len(y)])
        for location, intercept in zip(rows.locations, intercepts, strict=True):
            self.series_intercepts_[(product, location)] = float(intercept)

    def _shrink_products(self) -> None:
        """Shrink own-price elasticity and promotion lifts of each product towards its category mean."""
        self.category_means_: dict[tuple[str, str], float] = {}
        self.product_raw_ = {p: (fit.coef.copy(), fit.cov.copy()) for p, fit in self.products_.items()}
        shared = ["own", "own_lag", *PROMO_COLUMNS]
        by_category: dict[str, list[str]] = {}
        for product, category in self.category_.items():
            by_category.setdefault(category, []).append(product)
        for category, products in by_category.items():
            for name in shared:
                estimates, variances, fits = [], [], []
                for product in products:
                    fit = self.products_[product]
                    if name in fit.names:
                        i = fit.names.index(name)
                        estimates.append(fit.coef[i])
                        variances.append(fit.cov[i, i])
                        fits.append((fit, i))
                if not fits:
                    continue
                mean, tau2, mean_var = _eb_moments(np.array(estimates), np.array(variances))
                self.category_means_[(category, name)] = mean
                if len(fits) < 3:
                    continue
                for fit, i in fits:
                    se2 = fit.cov[i, i]
                    weight = tau2 / (tau2 + se2) if tau2 + se2 > 0 else 1.0
                    fit.coef[i] = mean + weight * (fit.coef[i] - mean)
                    # posterior variance: own part plus the uncertainty of the category mean it is pulled to
                    fit.cov[i, i] = weight * se2 + (1 - weight) ** 2 * mean_var if se2 < 1e5 else tau2 + mean_var

    def _fit_series(self, rows: _Rows, product: str, X: np.ndarray) -> None:
        """Per-location own-price elasticity and promotion lifts, shrunk towards the product's values."""
        fit = self.products_[product]
        y = rows.y
        resid = y - X @ fit.coef
        local_names = ["own", *[c for c in PROMO_COLUMNS if c in fit.names]]
        idx = [fit.names.index(n) for n in local_names]
        raw: dict[str, tuple[np.ndarray, np.ndarray, int, float]] = {}
        for location, positions in rows.runs():
            Z = X[positions][:, idx]
            Z = Z - Z.mean(axis=0)
            r = resid[positions] - resid[positions].mean()
            n = positions.stop - positions.start
            if n < self.params.min_series_obs or not self.params.series_level:
                continue
            usable = Z.std(axis=0) > 1e-9
            if not usable[0]:
                continue
            Zu = Z[:, usable]
            gram_inv = np.linalg.pinv(Zu.T @ Zu)
            delta_u = gram_inv @ Zu.T @ r
            dof = max(n - Zu.shape[1] - 1, 1)
            sigma2 = float(((r - Zu @ delta_u) ** 2).sum() / dof)
            delta = np.zeros(len(idx))
            var = np.full(len(idx), np.inf)
            delta[usable] = delta_u
            var[usable] = np.diag(gram_inv) * sigma2
            raw[location] = (delta, var, n, sigma2)
        # between-location variance of the deviations (method of moments), per coefficient
        tau2 = np.zeros(len(idx))
        if raw:
            for j in range(len(idx)):
                d = np.array([v[0][j] for v in raw.values() if np.isfinite(v[1][j])])
                s = np.array([v[1][j] for v in raw.values() if np.isfinite(v[1][j])])
                if len(d) >= 3:
                    tau2[j] = max(float(np.var(d, ddof=1) - np.mean(s)), 0.0)
        own_i = fit.names.index("own")
        product_own_var = fit.cov[own_i, own_i]
        for location, mask in rows.runs():
            coef_local = fit.coef[idx].copy()
            own_var = product_own_var + tau2[0]
            n = mask.stop - mask.start
            if location in raw:
                delta, var, n, _ = raw[location]
                # No between-location variance and no sampling variance (one location fits its product exactly):
                # nothing to add to the product's coefficients, so the weight is 0 rather than 0/0.
                denominator = tau2 + np.where(np.isfinite(var), var, 1.0)
                safe = np.isfinite(var) & (denominator > 0)
                weights = np.where(safe, tau2 / np.where(safe, denominator, 1.0), 0.0)
                coef_local = coef_local + weights * delta
                own_var = product_own_var + (weights[0] * var[0] if np.isfinite(var[0]) else tau2[0])
            beta_full = fit.coef.copy()
            beta_full[idx] = coef_local
            intercept = _recent_mean(y[mask] - X[mask] @ beta_full, rows.dates[mask], self.params)
            self.series_[(product, location)] = _SeriesFit(
                intercept=intercept,
                own=float(coef_local[0]),
                own_var=float(own_var),
                promo={name: float(coef_local[k]) for k, name in enumerate(local_names) if k > 0},
                n_obs=n,
            )

    # ------------------------------------------------------------------ predict
    def coefficients(self, product: str, location: str | None) -> tuple[float, dict[str, float]]:
        """(intercept, coefficient by feature name) of a series, falling back to the product, then category."""
        fit = self.products_.get(product)
        if fit is None:
            raise KeyError(f"product {product!r} was not in the training data")
        coef = dict(zip(fit.names, fit.coef, strict=True))
        series = self.series_.get((product, location)) if location is not None else None
        if series is not None:
            coef["own"] = series.own
            coef.update(series.promo)
            return series.intercept, coef
        return self._product_levels().get(product, 0.0), coef

    def _product_levels(self) -> dict[str, float]:
        """Mean intercept of each product's series: the level of a location the product was not sold at. Computed
        once per model (scanning every series per prediction made predicting a marketplace's 20k products take
        minutes); not pickled."""
        levels = self.__dict__.get("_product_levels_cache")
        if levels is None:
            by_product: dict[str, list[float]] = {}
            for (product, _), series in self.series_.items():
                by_product.setdefault(product, []).append(series.intercept)
            levels = {product: float(np.mean(values)) for product, values in by_product.items()}
            self.__dict__["_product_levels_cache"] = levels
        return levels

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_product_levels_cache", None)
        return state

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected log units of each row (same columns as ``fit``, ``units`` not needed)."""
        data = frame.copy()
        if "units" not in data.columns:
            data["units"] = 1.0
        data = _prepare(data.assign(_order=np.arange(len(data))))
        out = np.full(len(data), np.nan)
        # features of the prediction rows need the prices of substitutes at the same time: the rows' own prices and
        # promotions first, the training history where the rows say nothing
        cells = _Cells.from_rows(data).extended_by(self.cells_)
        for product, rows in _product_rows(data, cells):
            if product not in self.products_:
                continue
            features, names = self._features(rows, product, cells)
            for location, positions in rows.runs():
                intercept, coef = self.coefficients(product, location)
                beta = np.array([coef[n] for n in names])
                out[rows.order[positions]] = intercept + features[positions] @ beta
        return out

    def predict_units(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected units (not log): exp of the log prediction times the log-normal mean correction exp(s²/2)."""
        log_units = self.predict(frame)
        variance = np.array(
            [self.products_[p].residual_var if p in self.products_ else 0.0 for p in frame["product"].astype(str)]
        )
        return np.exp(log_units + variance / 2)

    # -------------------------------------------------------------- elasticities
    def elasticities(self) -> list[ElasticityRow]:
        """Own-price elasticity with a 95 % interval and plausibility flags: product level, then each series."""
        rows: list[ElasticityRow] = []
        for product, fit in self.products_.items():
            i = fit.names.index("own")
            rows.append(self._row(product, None, fit.coef[i], fit.cov[i, i], fit.n_obs))
        for (product, location), series in sorted(self.series_.items()):
            rows.append(self._row(product, location, series.own, series.own_var, series.n_obs))
        return rows

    def _row(self, product: str, location: str | None, value: float, var: float, n_obs: int) -> ElasticityRow:
        se = float(np.sqrt(max(var, 0.0)))
        low, high = value - Z95 * se, value + Z95 * se
        flags, reasons = [], []
        if value > 0:
            flags.append("positive_elasticity")
            reasons.append(
                f"own-price elasticity {value:+.2f} is positive: demand rising with price is implausible for a "
                "normal good, usually a sign of promotions or quality changes moving with price"
            )
        elif value > -1:
            flags.append("inelastic")
            reasons.append(
                f"elasticity {value:+.2f} is above -1: the profit optimum is unbounded, so the step and competitor "
                "rules decide the price"
            )
        if high - low > self.params.wide_interval or se > 1e2:
            flags.append("wide_interval")
            reasons.append(f"95% interval [{low:.2f}, {high:.2f}] is wider than {self.params.wide_interval:g}")
        if n_obs < self.params.min_series_obs:
            flags.append("few_observations")
            reasons.append(f"only {n_obs} observations: estimate borrowed from the product / category")
        return ElasticityRow(
            product=product,
            location=location,
            elasticity=float(value),
            low=float(low),
            high=float(high),
            n_obs=int(n_obs),
            flags=tuple(flags),
            explanation="; ".join(reasons),
        )

    def cross_elasticities(self, product: str) -> dict[str, float]:
        fit = self.products_[product]
        return {
            n.split(":", 1)[1]: float(c) for n, c in zip(fit.names, fit.coef, strict=True) if n.startswith("cross:")
        }


class _Cells:
    """Log price and promotion pressure (largest of the flags) of each product at each (location, period) seen.

    Kept long and sorted by an integer key (location, period, product), not as a (location, period) x product
    table: a marketplace sells most of its products in a few weeks at a few sellers, so such a table of 16k cells
    by 20k products is 2.7 GB of which 0.02 % is filled. Duplicated rows of a cell are averaged."""

    def __init__(self, locations: pd.Index, periods: pd.Index, products: pd.Index, keys, log_price, promo):
        self.locations, self.periods, self.products = locations, periods, products
        self.keys, self.log_price, self.promo = keys, log_price, promo
        self.product_code = {product: j for j, product in enumerate(products)}

    @classmethod
    def from_long(cls, location, period, product, log_price, promo) -> _Cells:
        loc_codes, locations = pd.factorize(np.asarray(location), sort=True)
        period_codes, periods = pd.factorize(pd.DatetimeIndex(period), sort=True)
        product_codes, products = pd.factorize(np.asarray(product), sort=True)
        key = (loc_codes.astype(np.int64) * len(periods) + period_codes) * len(products) + product_codes
        unique, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse, minlength=len(unique))

        def mean(values) -> np.ndarray:
            return np.bincount(inverse, np.asarray(values, dtype=float), minlength=len(unique)) / counts

        return cls(pd.Index(locations), pd.Index(periods), pd.Index(products), unique, mean(log_price), mean(promo))

    @classmethod
    def from_rows(cls, frame: pd.DataFrame) -> _Cells:
        promo = frame[list(PROMO_COLUMNS)].max(axis=1)
        return cls.from_long(frame["location"], frame["period_start"], frame["product"], frame["log_price"], promo)

    @classmethod
    def from_wide(cls, prices: pd.DataFrame, promos: pd.DataFrame) -> _Cells:
        price_long = prices.stack().rename("log_price")
        promo_long = promos.stack().rename("promo") if len(promos) else pd.Series(dtype=float, name="promo")
        both = pd.concat([price_long, promo_long], axis=1).dropna(subset=["log_price"]).reset_index()
        both.columns = ["location", "period_start", "product", "log_price", "promo"]
        return cls.from_long(both["location"], both["period_start"], both["product"], both["log_price"], both["promo"])

    def to_long(self) -> pd.DataFrame:
        n_periods, n_products = len(self.periods), len(self.products)
        cell, product = np.divmod(self.keys, n_products)
        location, period = np.divmod(cell, n_periods)
        return pd.DataFrame(
            {
                "location": self.locations[location],
                "period_start": self.periods[period],
                "product": self.products[product],
                "log_price": self.log_price,
                "promo": self.promo,
            }
        )

    def extended_by(self, other: _Cells) -> _Cells:
        """These cells, then those of ``other`` that these do not have."""
        mine, theirs = self.to_long(), other.to_long()
        both = pd.concat([mine, theirs], ignore_index=True)
        both = both[~both.duplicated(["location", "period_start", "product"], keep="first")]
        return _Cells.from_long(
            both["location"], both["period_start"], both["product"], both["log_price"], both["promo"]
        )

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """The (location, period) cell of each row of ``frame`` (-1: not in the table)."""
        loc = self.locations.get_indexer(frame["location"])
        period = self.periods.get_indexer(pd.DatetimeIndex(frame["period_start"]))
        return np.where((loc >= 0) & (period >= 0), loc.astype(np.int64) * len(self.periods) + period, -1)

    def values_at(self, cells: np.ndarray, product: str) -> tuple[np.ndarray, np.ndarray]:
        """Log price and promotion pressure of ``product`` at each cell (NaN where it was not sold there)."""
        log_price = np.full(len(cells), np.nan)
        promo = np.full(len(cells), np.nan)
        j = self.product_code.get(product, -1)
        if j < 0 or not len(self.keys):
            return log_price, promo
        key = cells * len(self.products) + j
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        found = (cells >= 0) & (self.keys[at] == key)
        log_price[found] = self.log_price[at[found]]
        promo[found] = self.promo[at[found]]
        return log_price, promo


def _promo_frame(table) -> pd.DataFrame:
    """The promotion table as a frame (index location, period; a column per product): models fitted before it was
    kept so stored it as a dict of Series per product."""
    if isinstance(table, pd.DataFrame):
        return table
    return pd.DataFrame(table) if table else pd.DataFrame()


def _demean(X: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``X`` minus the mean of its rows' group, the groups being runs of rows beginning at ``starts`` (the within
    transformation of a fixed-effects regression)."""
    counts = np.diff([*starts, len(X)])
    means = np.add.reduceat(X, starts, axis=0) / counts[:, None] if X.shape[1] else np.zeros((len(starts), 0))
    return X - np.repeat(means, counts, axis=0)


def _recent_mean(values: np.ndarray, dates: np.ndarray, params: PriceResponseParams) -> float:
    if params.level_half_life_days is None or len(values) == 0:
        return float(np.mean(values))
    age = (dates.max() - dates).astype("timedelta64[D]").astype(float)
    weights = 0.5 ** (age / params.level_half_life_days)
    return float((weights * values).sum() / weights.sum())


def _eb_moments(estimates: np.ndarray, variances: np.ndarray) -> tuple[float, float, float]:
    """Precision-weighted mean, method-of-moments between-unit variance (DerSimonian-Laird) and the variance of
    the mean."""
    finite = variances < 1e5
    if not finite.any():
        return float(np.mean(estimates)), 1.0, 1.0
    e, v = estimates[finite], np.maximum(variances[finite], 1e-12)
    w = 1.0 / v
    mean_fe = float((w * e).sum() / w.sum())
    if len(e) < 2:
        return mean_fe, 0.0, float(1.0 / w.sum())
    q = float((w * (e - mean_fe) ** 2).sum())
    denom = w.sum() - (w**2).sum() / w.sum()
    tau2 = max((q - (len(e) - 1)) / denom, 0.0) if denom > 0 else 0.0
    w_re = 1.0 / (v + tau2)
    return float((w_re * e).sum() / w_re.sum()), tau2, float(1.0 / w_re.sum())


def select_params(
    history: pd.DataFrame,
    *,
    candidates: list[PriceResponseParams] | None = None,
    holdout_fraction: float = 0.2,
    max_products: int = 500,
    seed: int = 0,
) -> tuple[PriceResponseParams, list[tuple[PriceResponseParams, float]]]:
    """Choose seasonality order and number of substitutes on an inner time holdout (the last
    ``holdout_fraction`` of the periods), by R² of log units. Short histories cannot tell a yearly cycle from a
    trend, so the seasonal terms have to earn their place out of sample.

    A catalogue of more than ``max_products`` products is judged on whole categories drawn at random (seeded)
    until they hold that many: the choice is one per catalogue, and six fits of every product of a marketplace
    (33k products) would take most of an hour; whole categories keep each product's substitutes as they are."""
    if "category" in history.columns and history["product"].nunique() > max_products:
        labels = history["category"].fillna("all").astype(str)
        per_category = history.groupby(labels)["product"].nunique()
        order = np.random.default_rng(seed).permutation(np.sort(per_category.index.to_numpy()))
        chosen = order[: int(np.searchsorted(per_category.reindex(order).cumsum().to_numpy(), max_products)) + 1]
        history = history[labels.isin(set(chosen))]
    if candidates is None:
        candidates = [
            PriceResponseParams(fourier_order=order, n_substitutes=subs) for order in (0, 1, 2) for subs in (4, 8)
        ]
    periods = np.sort(pd.to_datetime(history["period_start"]).unique())
    if len(periods) < 10:
        return candidates[0], []
    cutoff = periods[int(len(periods) * (1 - holdout_fraction))]
    dates = pd.to_datetime(history["period_start"])
    inner_train, inner_test = history[dates < cutoff], history[(dates >= cutoff) & (history["units"] > 0)]
    actual = np.log(inner_test["units"].astype(float).to_numpy())
    scored = []
    for params in candidates:
        try:
            model = PriceResponseModel(params).fit(inner_train)
        except ValueError:
            continue
        predicted = model.predict(inner_test.drop(columns=["units"]))
        ok = ~np.isnan(predicted)
        if ok.sum() < 2:
            continue
        a, p = actual[ok], predicted[ok]
        scored.append((params, float(1 - ((a - p) ** 2).sum() / ((a - a.mean()) ** 2).sum())))
    if not scored:
        return candidates[0], []
    return max(scored, key=lambda item: item[1])[0], scored

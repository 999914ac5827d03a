"""Scale benchmark of the price-response model on a marketplace-shaped catalogue: many products, each sold by one
or two of many sellers in a few sparse weeks, mostly one unit at a time (the shape of Olist at full size: about
20k products at 1.3k sellers, 66k product-seller-weeks). Seeded and synthetic, with a known elasticity per
product, so the run also says what the estimates are worth on such thin data.

    .venv/bin/python benchmarks/pricing_scale.py [--products 20000] [--sellers 1300] [--weeks 80]

Prints wall time and peak memory of fitting, predicting every series, and optimising every series' price, and
the accuracy on the last 8 weeks (held out) against the per-series mean of log units (the baseline, run in the
same script), plus the error of the product elasticities against the truth. Before session 8 the model kept a
(seller, week) x product table of substitutes' prices: on a weekly frame built from a 15x copy of the Olist
sample (66k rows, 20k products) it took 65 s and 8 GB to fit and 47 s to predict 5,000 series (now 6.6 s,
0.32 GB and 0.7 s).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing.ml.optimiser import PricingInput, PricingRules, optimise_price  # noqa: E402
from pricing.ml.response import PriceResponseModel, PriceResponseParams  # noqa: E402


def marketplace(n_products: int, n_sellers: int, n_weeks: int, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weekly rows with a sale: product, location, category, period_start, units, price; truth per product)."""
    rng = np.random.default_rng(seed)
    n_categories = 70
    category = rng.integers(0, n_categories, n_products)
    category_elasticity = rng.uniform(-3.0, -0.8, n_categories)
    elasticity = category_elasticity[category] + rng.normal(0, 0.3, n_products)
    base_price = np.exp(rng.normal(4.2, 1.0, n_products))  # a median around 65, a long tail into the thousands
    popularity = rng.lognormal(-1.6, 1.1, n_products)  # expected units a week at the base price
    sellers_per_product = 1 + (rng.random(n_products) < 0.25)
    start = pd.Timestamp("2016-10-03")
    frames = []
    for k in range(2):
        has = sellers_per_product > k
        products = np.flatnonzero(has)
        seller = rng.integers(0, n_sellers, len(products))
        # a product is listed for a stretch of weeks, not the whole history
        first = rng.integers(0, n_weeks - 4, len(products))
        length = np.minimum(rng.integers(4, n_weeks, len(products)), n_weeks - first)
        reps = length
        product = np.repeat(products, reps)
        week = np.concatenate([np.arange(f, f + n) for f, n in zip(first, length, strict=True)])
        location = np.repeat(seller, reps)
        price = base_price[product] * np.exp(rng.normal(0, 0.08, len(product)))
        mean = popularity[product] * (price / base_price[product]) ** elasticity[product]
        units = rng.poisson(mean)
        sold = units > 0  # weeks without a sale are not recorded (the price paid is only known when something sold)
        frames.append(
            pd.DataFrame(
                {
                    "product": [f"P{p:05d}" for p in product[sold]],
                    "location": [f"S{s:04d}" for s in location[sold]],
                    "category": [f"cat-{c:02d}" for c in category[product[sold]]],
                    "period_start": start + pd.to_timedelta(7 * week[sold], unit="D"),
                    "units": units[sold].astype(float),
                    "price": price[sold].round(2),
                }
            )
        )
    history = pd.concat(frames, ignore_index=True)
    history = history.groupby(["product", "location", "period_start"], as_index=False).agg(
        category=("category", "first"), units=("units", "sum"), price=("price", "mean")
    )
    truth = pd.DataFrame(
        {"product": [f"P{p:05d}" for p in range(n_products)], "elasticity": elasticity, "base_price": base_price}
    )
    return history, truth


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--sellers", type=int, default=1300)
    parser.add_argument("--weeks", type=int, default=80)
    parser.add_argument("--holdout-weeks", type=int, default=8)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    history, truth = marketplace(args.products, args.sellers, args.weeks)
    cutoff = history["period_start"].max() - pd.Timedelta(days=7 * (args.holdout_weeks - 1))
    train, test = history[history["period_start"] < cutoff], history[history["period_start"] >= cutoff]
    print(
        f"catalogue: {history['product'].nunique()} products at {history['location'].nunique()} sellers, "
        f"{len(train)} training rows (product-seller-weeks with a sale), {len(test)} held out; "
        f"median units a row {train['units'].median():.0f}; built in {time.perf_counter() - t0:.1f} s"
    )

    rows = []
    t = time.perf_counter()
    model = PriceResponseModel(PriceResponseParams(fourier_order=0)).fit(train)
    rows.append(("fit", time.perf_counter() - t, f"{len(model.series_)} series, {len(model.products_)} products"))

    keys = sorted(model.series_)
    current = train.groupby(["product", "location"])["price"].last()
    frame = pd.DataFrame({"product": [k[0] for k in keys], "location": [k[1] for k in keys]})
    frame["category"] = frame["product"].map(train.groupby("product")["category"].first())
    frame["period_start"] = cutoff
    frame["price"] = [current[k] for k in keys]
    t = time.perf_counter()
    units = model.predict_units(frame)
    rows.append(("predict every series", time.perf_counter() - t, f"{len(frame)} series"))

    t = time.perf_counter()
    rules = PricingRules(max_step=0.1)
    for (product, _location), price, expected in zip(keys, frame["price"], units, strict=True):
        series = model.series_[(product, _location)]
        optimise_price(
            PricingInput(
                current_price=float(price), unit_cost=float(price) * 0.6, elasticity=series.own, expected_units=expected
            ),
            rules,
        )
    rows.append(("optimise every series' price", time.perf_counter() - t, "max step 10 %, cost 60 % of price"))

    print(f"\n{'step':<30} {'wall s':>8}  what")
    for name, seconds, what in rows:
        print(f"{name:<30} {seconds:>8.2f}  {what}")
    print(f"peak resident memory of the process: {peak_gb():.2f} GB")

    # accuracy on the held-out weeks of series the model knows, against the series' mean log units
    known = test[[(p, loc) in model.series_ for p, loc in zip(test["product"], test["location"], strict=True)]]
    actual = np.log(known["units"].to_numpy())
    predicted = model.predict(known.drop(columns=["units"]))
    baseline = (
        train.assign(y=np.log(train["units"]))
        .groupby(["product", "location"])["y"]
        .mean()
        .reindex(pd.MultiIndex.from_frame(known[["product", "location"]]))
        .to_numpy()
    )
    ok = np.isfinite(predicted) & np.isfinite(baseline)

    def mae(prediction: np.ndarray) -> float:
        return float(np.mean(np.abs(actual[ok] - prediction[ok])))

    estimates = pd.Series({r.product: r.elasticity for r in model.elasticities() if r.location is None})
    error = (estimates - truth.set_index("product")["elasticity"].reindex(estimates.index)).abs()
    print(f"\nheld-out weeks: {int(ok.sum())} product-seller-weeks of known series")
    print(f"{'model':<34} {'MAE log units':>14}")
    print(f"{'series mean (baseline)':<34} {mae(baseline):>14.4f}")
    print(f"{'ecomops price response':<34} {mae(predicted):>14.4f}")
    print(
        f"product elasticities vs truth: median absolute error {error.median():.3f}, "
        f"{(error <= 0.5).mean():.1%} within 0.5 ({len(error)} products)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

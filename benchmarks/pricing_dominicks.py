"""Dominick's orange juice: out-of-sample accuracy of the price-response model against a per-series baseline.

Fit on all but the last 20 available weeks, predict log units sold in those weeks from the prices and promotions
in force; print R² and MAE of our hierarchical model next to a per-series OLS on own log price, deal and feature
(the classic baseline), and every brand's own-price elasticity with its 95 % interval.

    .venv/bin/python benchmarks/pricing_dominicks.py [--data ../shared/data/dominicks_oj] [--test-weeks 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pricing.ml.response import PriceResponseModel, select_params  # noqa: E402

DOMINICKS_WEEK_1 = date(1989, 9, 14)


def load(data_dir: Path) -> tuple[pd.DataFrame, dict[int, str]]:
    raw = pd.read_csv(data_dir / "oj_store_brand_week.csv.gz")
    brands = pd.read_csv(data_dir / "brands.csv").set_index("brand")["name"].to_dict()
    prices = raw[[f"price{b}" for b in range(1, 12)]].to_numpy()
    raw["price"] = prices[np.arange(len(raw)), raw["brand"].to_numpy() - 1]
    frame = pd.DataFrame(
        {
            "product": "DOM-OJ-" + raw["brand"].astype(str),
            "location": "DOM-" + raw["store"].astype(str),
            "category": "orange juice",
            "period_start": [DOMINICKS_WEEK_1 + timedelta(days=7 * (w - 1)) for w in raw["week"]],
            "week": raw["week"],
            "units": np.exp(raw["logmove"]),
            "log_units": raw["logmove"],
            "price": raw["price"],
            "display": raw["deal"].astype(float),
            "feature": raw["feat"].astype(float),
        }
    )
    return frame, brands


def baseline_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Per-series OLS: log units ~ 1 + log own price + deal + feature."""
    out = np.full(len(test), np.nan)
    fits = {}
    for key, rows in train.groupby(["product", "location"]):
        X = np.column_stack([np.ones(len(rows)), np.log(rows["price"]), rows["display"], rows["feature"]])
        beta, *_ = np.linalg.lstsq(X, rows["log_units"].to_numpy(), rcond=None)
        fits[key] = beta
    for key, rows in test.groupby(["product", "location"]):
        positions = test.index.get_indexer(rows.index)
        beta = fits.get(key)
        if beta is None:
            continue
        X = np.column_stack([np.ones(len(rows)), np.log(rows["price"]), rows["display"], rows["feature"]])
        out[positions] = X @ beta
    return out


def scores(actual: np.ndarray, predicted: np.ndarray, series: np.ndarray) -> tuple[float, float, float, int]:
    """Pooled R², within-series R² (each series' own test mean removed, i.e. how well the weekly ups and
    downs are predicted), MAE of log units, rows scored."""
    ok = ~np.isnan(predicted)
    a, p, s = actual[ok], predicted[ok], series[ok]
    r2 = 1 - ((a - p) ** 2).sum() / ((a - a.mean()) ** 2).sum()
    a_w = a - pd.Series(a).groupby(s).transform("mean").to_numpy()
    p_w = p - pd.Series(p).groupby(s).transform("mean").to_numpy()
    r2_within = 1 - ((a_w - p_w) ** 2).sum() / (a_w**2).sum()
    return float(r2), float(r2_within), float(np.abs(a - p).mean()), int(ok.sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/dominicks_oj")
    parser.add_argument("--test-weeks", type=int, default=20)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"data not found: {args.data}")
        return 2
    frame, brands = load(args.data)
    weeks = np.sort(frame["week"].unique())
    cutoff = weeks[-args.test_weeks]
    train = frame[frame["week"] < cutoff].reset_index(drop=True)
    test = frame[frame["week"] >= cutoff].reset_index(drop=True)
    print(
        f"train weeks {weeks[0]}..{weeks[weeks < cutoff][-1]} ({len(train)} rows), "
        f"test weeks {cutoff}..{weeks[-1]} ({len(test)} rows)"
    )

    results = []
    series = (test["product"] + "@" + test["location"]).to_numpy()
    t0 = time.perf_counter()
    base = baseline_predict(train, test)
    results.append(
        (
            "baseline: per-series OLS (own price, deal, feature)",
            *scores(test["log_units"].to_numpy(), base, series),
            time.perf_counter() - t0,
        )
    )
    t0 = time.perf_counter()
    params, scored = select_params(train.drop(columns=["log_units"]))
    select_s = time.perf_counter() - t0
    print(
        f"inner-holdout selection ({select_s:.0f}s): "
        + ", ".join(f"season {p.fourier_order}/subs {p.n_substitutes}: R2 {s:.3f}" for p, s in scored)
    )
    t0 = time.perf_counter()
    model = PriceResponseModel(params).fit(train)
    fit_s = time.perf_counter() - t0
    pred = model.predict(test.drop(columns=["units"]))
    results.append(
        (
            "hierarchical log-log (cross prices, promos, season, EB pooling)",
            *scores(test["log_units"].to_numpy(), pred, series),
            fit_s,
        )
    )

    print()
    print(f"{'model':66s} {'R2':>7s} {'R2 within':>9s} {'MAE':>7s} {'rows':>6s} {'fit s':>7s}")
    for name, r2, r2w, mae, n, seconds in results:
        print(f"{name:66s} {r2:7.3f} {r2w:9.3f} {mae:7.3f} {n:6d} {seconds:7.1f}")
    print(f"target: R2 >= 0.75 -> {'PASS' if results[1][1] >= 0.75 else 'FAIL'}")

    print()
    print(f"{'brand':28s} {'elasticity':>10s} {'low':>7s} {'high':>7s}  flags")
    negative = 0
    product_rows = [r for r in model.elasticities() if r.location is None]
    for row in sorted(product_rows, key=lambda r: int(r.product.rsplit("-", 1)[1])):
        name = brands[int(row.product.rsplit("-", 1)[1])]
        negative += row.high < 0
        print(f"{name:28s} {row.elasticity:10.2f} {row.low:7.2f} {row.high:7.2f}  {','.join(row.flags)}")
    series_rows = [r for r in model.elasticities() if r.location is not None]
    print(
        f"brands with a negative elasticity whose whole interval is below 0: {negative}/{len(product_rows)} -> "
        f"{'PASS' if negative == len(product_rows) else 'FAIL'}"
    )
    print(
        f"store-level elasticities: {len(series_rows)}, positive: {sum(r.elasticity > 0 for r in series_rows)}, "
        f"median {np.median([r.elasticity for r in series_rows]):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

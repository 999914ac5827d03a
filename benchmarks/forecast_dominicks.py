"""Benchmark: Dominick's refrigerated orange juice, 913 store-brand weekly series, last 20 weeks held out.

    .venv/bin/python benchmarks/forecast_dominicks.py [--holdout 20]

Reads ../shared/data/dominicks_oj directly. Units = exp(logmove); covariates: own shelf price, in-store deal,
feature advertising; competing prices enter through the group (= store): the other brands' prices that
week, as the global model's relative-price features and as a regressor of each series' own price regression.
Weeks missing from the file stay missing (not zero) and are not scored. "Best baseline" is the best of naive,
seasonal naive and historic average (the issue's baselines); the stricter line also counts SES, Croston-SBA,
TSB and statsforecast AutoETS.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from forecast_common import (
    DATA,
    actual_matrix,
    ecomops_rows,
    plain_global_rows,
    print_table,
    statsforecast_rows,
    univariate_rows,
)

from inventory.ml.panel import build_panel

WEEK_1 = date(1989, 9, 14)  # Dominick's week 1 starts on a Thursday in September 1989


def load(holdout: int, data: Path = DATA / "dominicks_oj"):
    raw = pd.read_csv(data / "oj_store_brand_week.csv.gz")
    raw["series_id"] = raw["store"].astype(str) + "-" + raw["brand"].astype(str)
    raw["ds"] = [WEEK_1 + timedelta(weeks=int(w) - 1) for w in raw["week"]]
    raw["y"] = np.exp(raw["logmove"])
    raw["price"] = raw.apply(lambda r: r[f"price{int(r['brand'])}"], axis=1)
    raw["deal"] = raw["deal"].astype(float)
    raw["feat"] = raw["feat"].astype(float)
    cutoff = raw["week"].max() - holdout + 1
    cols = ["series_id", "ds", "y", "price", "deal", "feat"]
    history = raw.loc[raw["week"] < cutoff, cols]
    test = raw.loc[raw["week"] >= cutoff, cols]
    static = raw[["series_id", "store"]].drop_duplicates().rename(columns={"store": "group"})
    panel = build_panel(history, future=test.drop(columns="y"), horizon=holdout, static=static, freq="W")
    return panel, actual_matrix(panel, test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--skip-statsforecast", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    panel, actual = load(args.holdout)
    print(
        f"Dominick's OJ: {panel.n_series} series, {panel.n_history} history weeks, {args.holdout} held out "
        f"({int((~np.isnan(actual)).sum())} observed test weeks); loaded in {time.perf_counter() - start:.1f}s"
    )
    rows = univariate_rows(panel, actual)
    if not args.skip_statsforecast:
        rows += statsforecast_rows(panel, actual)
    rows += plain_global_rows(panel, actual, ["price", "deal", "feat"])
    rows += ecomops_rows(panel, actual)
    print_table(f"Dominick's OJ, last {args.holdout} weeks held out", rows)


if __name__ == "__main__":
    main()

"""Benchmark: Walmart weekly store sales (45 stores, holiday weeks flagged), last 20 weeks held out.

    .venv/bin/python benchmarks/forecast_walmart.py [--holdout 20]

Known future covariate: the holiday flag of the file (plus the computed US holiday calendar). Temperature,
fuel price, CPI and unemployment are not known in advance and are left out.
"""

from __future__ import annotations

import argparse
import time

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


def load(holdout: int):
    raw = pd.read_csv(DATA / "walmart" / "walmart_store_week.csv")
    raw["ds"] = pd.to_datetime(raw["Date"])
    raw["series_id"] = "store-" + raw["Store"].astype(str)
    raw["y"] = raw["Weekly_Sales"].astype(float)
    raw["holiday_week"] = raw["Holiday_Flag"].astype(float)
    dates = np.sort(raw["ds"].unique())
    cutoff = dates[-holdout]
    cols = ["series_id", "ds", "y", "holiday_week"]
    history, test = raw.loc[raw["ds"] < cutoff, cols], raw.loc[raw["ds"] >= cutoff, cols]
    panel = build_panel(history, future=test.drop(columns="y"), horizon=holdout, freq="W", country="US")
    return panel, actual_matrix(panel, test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--skip-statsforecast", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    panel, actual = load(args.holdout)
    print(
        f"Walmart: {panel.n_series} stores, {panel.n_history} history weeks, {args.holdout} held out; "
        f"loaded in {time.perf_counter() - start:.1f}s"
    )
    rows = univariate_rows(panel, actual)
    if not args.skip_statsforecast:
        rows += statsforecast_rows(panel, actual)
    rows += plain_global_rows(panel, actual, ["holiday_week"])
    rows += ecomops_rows(panel, actual)
    print_table(f"Walmart weekly sales, last {args.holdout} weeks held out", rows)


if __name__ == "__main__":
    main()

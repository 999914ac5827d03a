"""Delivery-date benchmark on Olist: our ETA / promise against Olist's own estimated delivery date.

For every cut-off: train on what was known before it (orders delivered before the cut-off), predict the
orders purchased on or after it, and score those that were delivered: share delivered after the promise,
mean slack (promise date - delivery date), ETA mean absolute error in days. Baselines measured in the same
run: Olist's estimated date (the marketplace's promise), and a "past average" model (median and 96th
percentile of all past delivery times, no features), which shows what ignoring drift costs.

    python benchmarks/delivery_olist.py [--data ../shared/data/olist] [--cutoffs 2018-01-01,2018-03-01]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logistics.ml.delivery import DAY, DeliveryParams, DeliveryTimeModel, delivery_metrics  # noqa: E402
from logistics.ml.olist import olist_order_frame  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "olist"


def past_average(frame: pd.DataFrame, test: pd.DataFrame, as_of: pd.Timestamp, target: float) -> pd.DataFrame:
    past = frame[frame["delivered_at"] < as_of]
    days = (past["delivered_at"] - past["purchased_at"]) / DAY
    eta, promise = float(days.median()), float(days.quantile(1 - target))
    return pd.DataFrame(
        {
            "eta_date": (test["purchased_at"] + pd.Timedelta(days=eta)).dt.normalize(),
            "promise_date": (test["purchased_at"] + pd.Timedelta(days=promise)).dt.normalize(),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--cutoffs", default="2018-01-01,2018-02-01,2018-03-01,2018-04-01")
    parser.add_argument("--target", type=float, default=0.04, help="accepted share of late deliveries")
    args = parser.parse_args()

    frame = olist_order_frame(args.data)
    rows = []
    for cutoff in args.cutoffs.split(","):
        as_of = pd.Timestamp(cutoff)
        test = frame[(frame["purchased_at"] >= as_of) & frame["delivered_at"].notna()]
        started = time.perf_counter()
        model = DeliveryTimeModel(DeliveryParams(target_late_share=args.target)).fit(frame, as_of=as_of)
        fit_seconds = time.perf_counter() - started
        predicted = model.predict(test)
        ours = delivery_metrics(predicted, test["delivered_at"])
        olist = delivery_metrics(
            pd.DataFrame({"eta_date": test["olist_estimate"], "promise_date": test["olist_estimate"]}),
            test["delivered_at"],
        )
        naive = delivery_metrics(past_average(frame, test, as_of, args.target), test["delivered_at"])
        for name, m in (("ecomops", ours), ("olist estimate", olist), ("past average", naive)):
            rows.append({"cutoff": cutoff, "method": name, **m})
        rows[-3]["fit_s"] = round(fit_seconds, 1)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print()
    summary = table.groupby("method")[["late_share", "mean_slack_days", "eta_mae_days"]].mean()
    print("mean over cut-offs")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    ours = summary.loc["ecomops"]
    print()
    print(
        f"targets: late <= {args.target:.0%}: {'PASS' if ours.late_share <= args.target else 'FAIL'} "
        f"({ours.late_share:.1%}); slack <= 7 d: {'PASS' if ours.mean_slack_days <= 7 else 'FAIL'} "
        f"({ours.mean_slack_days:.2f}); ETA MAE <= 3.3 d: {'PASS' if ours.eta_mae_days <= 3.3 else 'FAIL'} "
        f"({ours.eta_mae_days:.2f})"
    )
    return 0 if np.isfinite(ours.late_share) else 1


if __name__ == "__main__":
    raise SystemExit(main())

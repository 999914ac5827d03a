"""Delivery-date benchmark on Olist: our ETA / promise against Olist's own estimated delivery date.

For every cut-off: train on what was known before it (the product's path: orders purchased before the
cut-off with every fact dated on/after it blanked, ``known_as_of``, then ``DeliveryTimeModel.fit`` exactly as
``predict_delivery --as-of`` does), predict the orders purchased on or after it from what was known when they
were placed, and score those that were delivered (``order_delivered_customer_date`` present; the handful of
orders marked canceled although delivered are left out): share delivered after the promise date, mean slack
(promise date - delivery date, in days), ETA mean absolute error (ETA date vs delivery date, in days).
Baselines measured in the same run: Olist's estimated date (the marketplace's promise, in the data), and a
"past average" model (median and 96th percentile of all past delivery times, no features), which shows what
ignoring drift costs, and a "hindsight constant" (not a method: the scored orders' own median and 96th
percentile), whose MAE is the floor for any model without features. ``--horizon-days N`` scores only the
orders purchased in the N days after each cut-off (a model retrained every N days); by default every later
order is scored.

    python benchmarks/delivery_olist.py [--data ../shared/data/olist] [--cutoffs 2018-01-01,2018-03-01]
        [--target 0.04] [--horizon-days 31]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logistics.ml.delivery import (  # noqa: E402
    DAY,
    DeliveryParams,
    DeliveryTimeModel,
    delivery_metrics,
    known_as_of,
)
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


def hindsight_constant(test: pd.DataFrame, target: float) -> pd.DataFrame:
    """Not a method: the scored orders' own median and (1 - target) quantile, known only afterwards.

    Shows what no featureless model can beat: its MAE is the spread of the delivery times themselves.
    """
    days = (test["delivered_at"] - test["purchased_at"]) / DAY
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
    parser.add_argument("--horizon-days", type=int, default=None, help="score only orders bought within N days")
    args = parser.parse_args()
    if not 0 < args.target < 0.5:
        parser.error(f"--target must be between 0 and 0.5, got {args.target}")

    frame = olist_order_frame(args.data)
    rows = []
    for cutoff in args.cutoffs.split(","):
        as_of = pd.Timestamp(cutoff)
        test = frame[(frame["purchased_at"] >= as_of) & frame["delivered_at"].notna() & (frame["status"] != "canceled")]
        if args.horizon_days:
            test = test[test["purchased_at"] < as_of + pd.Timedelta(days=args.horizon_days)]
        history = known_as_of(frame[frame["purchased_at"] < as_of], as_of)
        started = time.perf_counter()
        model = DeliveryTimeModel(DeliveryParams(target_late_share=args.target)).fit(history, as_of=as_of)
        fit_seconds = time.perf_counter() - started
        predicted = model.predict(known_as_of(test, as_of))
        ours = delivery_metrics(predicted, test["delivered_at"])
        olist = delivery_metrics(
            pd.DataFrame({"eta_date": test["olist_estimate"], "promise_date": test["olist_estimate"]}),
            test["delivered_at"],
        )
        naive = delivery_metrics(past_average(history, test, as_of, args.target), test["delivered_at"])
        hindsight = delivery_metrics(hindsight_constant(test, args.target), test["delivered_at"])
        for name, m in (
            ("ecomops", ours),
            ("olist estimate", olist),
            ("past average", naive),
            ("hindsight constant", hindsight),
        ):
            rows.append({"cutoff": cutoff, "method": name, **m})
        rows[-4]["fit_s"] = round(fit_seconds, 1)
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
        f"targets: late <= {args.target:.1%}: {'PASS' if ours.late_share <= args.target else 'FAIL'} "
        f"({ours.late_share:.1%}); slack <= 7 d: {'PASS' if ours.mean_slack_days <= 7 else 'FAIL'} "
        f"({ours.mean_slack_days:.2f}); ETA MAE <= 3.3 d: {'PASS' if ours.eta_mae_days <= 3.3 else 'FAIL'} "
        f"({ours.eta_mae_days:.2f})"
    )
    return 0 if np.isfinite(ours.late_share) else 1


if __name__ == "__main__":
    raise SystemExit(main())

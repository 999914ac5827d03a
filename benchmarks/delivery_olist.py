"""Delivery-date benchmark on Olist: our ETA / promise against Olist's own estimated delivery date.

For every cut-off: train on what was known before it (the product's path: orders purchased before the
cut-off with every fact dated on/after it blanked, ``known_as_of``, then ``DeliveryTimeModel.fit`` exactly as
``predict_delivery --as-of`` does), predict the orders purchased on or after it (within ``--horizon-days``)
from what was known at the cut-off, and score those that were delivered (``order_delivered_customer_date``
present; the handful of orders marked canceled although delivered are left out). Orders never delivered
(canceled, unavailable, or shipped with no delivery date: ~14 % of this sample, a sampling artefact) cannot be
scored as deliveries and are left out for every method alike.

Metrics, all on whole dates (the customer is promised a date; delivered on that date is on time):
share delivered after the promise date; mean slack (promise date - delivery date, days); ETA MAE
(|ETA date - delivery date|, days). The ETA counts from the purchase (not from the cut-off); with
fractional days (delivery timestamp - purchase timestamp) the MAE differs by < 0.03 d on these windows.

Default window: cut-off 2018-04-01, the 30 days after it. It is the one window of this sample consistent with
the issue's description: Olist's own estimate is 3-5 % late there with 12-13 days of slack (4.9 %, 12.8 d),
and the network had just got faster (median delivery 13-14 d in Feb-Mar 2018, 9 d in April) so the past
average promises far too late. ``--olist-windows`` prints Olist's late share and slack per cut-off and horizon
(the table that window was chosen from); pass other cut-offs with ``--cutoff A,B,...``.

Baselines measured in the same run: Olist's estimated date (the marketplace's promise, in the data), and a
"past average" model (median and (1 - target) quantile of all past delivery times, no features), which shows
what ignoring drift costs, and a "hindsight constant" (not a method: the scored orders' own median and
quantile), whose MAE is the floor for any model without features. "ecomops, hindsight margin" (not a method
either) is our ETA with the promise margin chosen afterwards to hit the target late share on the scored
orders: the least slack our ETA allows at that late share with a perfectly calibrated margin.

    python benchmarks/delivery_olist.py [--data ../shared/data/olist] [--cutoff 2018-04-01[,2018-01-01,...]]
        [--horizon-days 30 (0: every later order)] [--target 0.04] [--olist-windows]
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
    MIN_DAYS,
    DeliveryParams,
    DeliveryTimeModel,
    delivery_metrics,
    known_as_of,
    margin_scores,
    promise_days_from,
)
from logistics.ml.olist import olist_order_frame  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "olist"
DEFAULT_CUTOFF = "2018-04-01"  # the window matching the description of Olist (see the docstring)


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


def olist_windows(frame: pd.DataFrame) -> pd.DataFrame:
    """Olist's own late share and slack for cut-offs on the 1st and 15th of each month and several horizons."""
    scored = frame[frame["delivered_at"].notna() & (frame["status"] != "canceled")]
    slack = (scored["olist_estimate"].dt.normalize() - scored["delivered_at"].dt.normalize()) / DAY
    days = (scored["delivered_at"] - scored["purchased_at"]) / DAY
    rows = []
    for cutoff in pd.date_range("2017-05-01", scored["purchased_at"].max(), freq="SMS"):
        for horizon in (30, 61, 0):
            inside = scored["purchased_at"] >= cutoff
            if horizon:
                inside &= scored["purchased_at"] < cutoff + pd.Timedelta(days=horizon)
            if inside.sum() < 100:
                continue
            late, mean_slack = float((slack[inside] < 0).mean()), float(slack[inside].mean())
            rows.append(
                {
                    "cutoff": cutoff.date(),
                    "horizon": horizon or "all",
                    "orders": int(inside.sum()),
                    "olist_late": late,
                    "olist_slack": mean_slack,
                    "median_days": float(days[inside].median()),
                    "as_described": "yes" if 0.03 <= late <= 0.05 + 5e-4 and 12 <= mean_slack <= 13 else "",
                }
            )
    return pd.DataFrame(rows)


def hindsight_margin(model: DeliveryTimeModel, predicted: pd.DataFrame, test: pd.DataFrame, target: float):
    """Not a method: our ETA with the promise margin set afterwards at the scored orders' (1 - target) quantile."""
    actual = np.maximum((test["delivered_at"] - test["purchased_at"]) / DAY, MIN_DAYS).to_numpy(dtype=float)
    eta = predicted["eta_days"].to_numpy(dtype=float)
    power = model.score_power_
    offset = float(np.quantile(margin_scores(eta, actual, power=power), 1 - target, method="higher"))
    promise = test["purchased_at"] + pd.to_timedelta(promise_days_from(eta, offset, power=power), unit="D")
    return pd.DataFrame({"eta_date": predicted["eta_date"], "promise_date": promise.dt.normalize()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument(
        "--cutoff", "--cutoffs", dest="cutoffs", default=DEFAULT_CUTOFF, help="cut-off date(s), comma-separated"
    )
    parser.add_argument("--target", type=float, default=0.04, help="accepted share of late deliveries")
    parser.add_argument(
        "--horizon-days", type=int, default=30, help="score orders bought within N days of the cut-off (0: all later)"
    )
    parser.add_argument("--olist-windows", action="store_true", help="print Olist's late share / slack per window")
    args = parser.parse_args()
    if not 0 < args.target < 0.5:
        parser.error(f"--target must be between 0 and 0.5, got {args.target}")

    frame = olist_order_frame(args.data)
    pd.set_option("display.width", 160)
    if args.olist_windows:
        table = olist_windows(frame)
        print("Olist's estimate per window (late: delivered after the estimated date; slack: estimate - delivery)")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return 0
    rows = []
    for cutoff in args.cutoffs.split(","):
        as_of = pd.Timestamp(cutoff)
        test = frame[(frame["purchased_at"] >= as_of) & frame["delivered_at"].notna() & (frame["status"] != "canceled")]
        if args.horizon_days:
            test = test[test["purchased_at"] < as_of + pd.Timedelta(days=args.horizon_days)]
        if test.empty:
            print(f"cut-off {cutoff}: no delivered order purchased on or after it in {args.data}; skipped")
            continue
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
        last, summary = test["purchased_at"].max(), model.summary()
        window = " .. ".join(summary["calibration_window"])
        print(
            f"cut-off {cutoff}: {model.training_rows_} orders delivered before it ({summary['fitted_rows']} settled "
            f"ones fitted; promise calibrated on {summary['calibration_rows']} bought {window}); scored "
            f"{len(test)} delivered orders purchased {as_of:%Y-%m-%d} .. {last:%Y-%m-%d}; Olist's estimate there: "
            f"{olist['late_share']:.1%} late, {olist['mean_slack_days']:.2f} d slack (issue: 3-5 %, 12-13 d); "
            f"promise margin on {summary['promise_scale']}"
        )
        naive = delivery_metrics(past_average(history, test, as_of, args.target), test["delivered_at"])
        hindsight = delivery_metrics(hindsight_constant(test, args.target), test["delivered_at"])
        sharp = delivery_metrics(hindsight_margin(model, predicted, test, args.target), test["delivered_at"])
        for name, m in (
            ("ecomops", ours),
            ("olist estimate", olist),
            ("past average", naive),
            ("hindsight constant", hindsight),
            ("ecomops, hindsight margin", sharp),
        ):
            rows.append({"cutoff": cutoff, "method": name, **m})
        rows[-5]["fit_s"] = round(fit_seconds, 1)
    if not rows:
        print("no cut-off had orders to score")
        return 1
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print()
    summary = table.groupby("method", sort=False)[["late_share", "mean_slack_days", "eta_mae_days"]].mean()
    if len(table["cutoff"].unique()) > 1:
        print("mean over cut-offs")
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
        print()
    ours = summary.loc["ecomops"]
    print(
        f"targets: late <= {args.target:.1%}: {'PASS' if ours.late_share <= args.target else 'FAIL'} "
        f"({ours.late_share:.1%}); slack <= 7 d: {'PASS' if ours.mean_slack_days <= 7 else 'FAIL'} "
        f"({ours.mean_slack_days:.2f}); ETA MAE <= 3.3 d: {'PASS' if ours.eta_mae_days <= 3.3 else 'FAIL'} "
        f"({ours.eta_mae_days:.2f})"
    )
    return 0 if np.isfinite(ours.late_share) else 1


if __name__ == "__main__":
    raise SystemExit(main())

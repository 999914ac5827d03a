"""Replenishment replay on real demand the policy never saw: Dominick's OJ, 913 store-brand series, the last
20 weeks, reviewed weekly with a one-week supplier lead time; unmet demand is lost.

    .venv/bin/python benchmarks/replenishment_replay.py [--holdout 20] [--warmup 8] [--lead-weeks 1]

Timing: each week the store receives what arrives, sells (lost sales when short), then reviews at the end of
the week; an order placed then arrives LEAD_WEEKS later (at the start of week t + 1 + LEAD_WEEKS), so an
order must cover the lead time plus the review period, L + R = 2 weeks of demand. ``--lead-weeks 0`` is
a supplier that delivers before the next week's sales (an order covers one week).

ecomops policy, what a planner gets each Monday: the forecaster is refitted on the demand recorded before
that week only (planned prices and promotions for the next weeks are known, as in ``forecast_demand``), and
``inventory.ml.replenishment.suggest`` turns its P10/P50/P90 over the protection interval into an
order-up-to level for a target fill rate. The demand distribution comes from the forecast's own errors:
standardised errors of 2-week demand from every earlier weekly forecast whose two weeks have already been
observed (pooled over series; ``--warmup`` weekly forecasts before the replay seed the pool, all on data
before the replay). "category": the target fill rate is met over all series together at one common cycle
service level (what ``replenishment_suggest`` does per category: ``suggest_many``); "per item": every series
meets it on its own; "quantiles only": the forecast quantiles alone (normal approximation), an ablation.
``--cache FILE.npz`` keeps the weekly forecasts for re-running the policy part (each is still fitted only on
the weeks before its origin; delete the file after a change to the forecaster).

Reference: the min/max rule planners type by hand (Odoo / ERPNext): min = last four months' (17 weeks)
average weekly demand x lead time (at least one week) x buffer, max = min + one review period of average demand; the average is
recomputed every week from the trailing 17 weeks of actual demand (missing weeks skipped). When the stock
position (on hand + on order) is at or below min, order up to max. Buffers are swept so the stock each
needs for a given fill rate can be compared. Missing weeks carry no demand.
Reports fill rate, average stock on hand (units per series, after each week's sales), stock-out
series-weeks and orders placed.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import pandas as pd
from forecast_common import DATA, DemandForecaster
from forecast_dominicks import WEEK_1

from inventory.ml.panel import Panel, build_panel
from inventory.ml.replenishment import (
    ItemInput,
    interval_forecast,
    standardised_errors,
    suggest_many,
)

LEAD_WEEKS = 1
REVIEW_WEEKS = 1
PROTECTION = LEAD_WEEKS + REVIEW_WEEKS
POOL_POINTS = 400  # the pooled errors are passed to the policy as this many evenly spaced quantiles


def load_full() -> tuple[Panel, np.ndarray]:
    """All weeks as one panel (y observed everywhere), and the week number of each panel column."""
    from datetime import timedelta

    raw = pd.read_csv(DATA / "dominicks_oj" / "oj_store_brand_week.csv.gz")
    raw["series_id"] = raw["store"].astype(str) + "-" + raw["brand"].astype(str)
    raw["ds"] = [WEEK_1 + timedelta(weeks=int(w) - 1) for w in raw["week"]]
    raw["y"] = np.exp(raw["logmove"])
    raw["price"] = raw.apply(lambda r: r[f"price{int(r['brand'])}"], axis=1)
    raw["deal"] = raw["deal"].astype(float)
    raw["feat"] = raw["feat"].astype(float)
    cols = ["series_id", "ds", "y", "price", "deal", "feat"]
    static = raw[["series_id", "store"]].drop_duplicates().rename(columns={"store": "group"})
    return build_panel(raw[cols], static=static, freq="W")


def truncated(panel: Panel, origin: int, horizon: int) -> Panel:
    """The panel as known at the start of period ``origin``: demand before it, covariates (planned prices and
    promotions) up to ``origin + horizon``. Nothing recorded at or after ``origin`` is visible."""
    end = origin + horizon
    return Panel(
        series_ids=panel.series_ids,
        dates=panel.dates[:end],
        n_history=origin,
        y=panel.y[:, :origin].copy(),
        covariates={k: v[:, :end].copy() for k, v in panel.covariates.items()},
        groups=panel.groups,
        freq=panel.freq,
    )


def simulate(demand: np.ndarray, order_fn, initial: np.ndarray) -> dict[str, float]:
    """Weekly loop: receive, sell (lost sales), review at the end of the week and order; an order placed in
    week t arrives at the start of week t + 1 + LEAD_WEEKS. Orders that could not arrive within the replay
    are not placed (for every policy alike)."""
    n, weeks = demand.shape
    on_hand = initial.astype(float).copy()
    pipeline = np.zeros((n, weeks + LEAD_WEEKS + 2))
    sold = lost = stock_sum = 0.0
    stockout_weeks = orders = 0
    for t in range(weeks):
        on_hand += pipeline[:, t]
        d = np.nan_to_num(demand[:, t])
        sales = np.minimum(on_hand, d)
        sold += sales.sum()
        lost += (d - sales).sum()
        stockout_weeks += int(((d - sales) > 1e-9).sum())
        on_hand -= sales
        stock_sum += on_hand.sum()
        if t + 1 + LEAD_WEEKS >= weeks:
            continue
        position = on_hand + pipeline[:, t + 1 :].sum(axis=1)
        q = order_fn(t, position)
        orders += int((q > 0).sum())
        pipeline[:, t + 1 + LEAD_WEEKS] += q
    return {
        "fill_rate": sold / (sold + lost) if sold + lost else float("nan"),
        "avg_stock": stock_sum / (weeks * n),
        "stockout_weeks": stockout_weeks,
        "orders": orders,
    }


def rolling_forecasts(
    panel: Panel, origins: list[int], cache: str | None = None
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One forecast per origin, fitted on demand before it, for the PROTECTION periods from it. ``cache``: an
    .npz file that keeps them between runs (only for re-running the policy part; delete it after a change
    to the forecaster)."""
    out, stored = {}, {}
    if cache and os.path.exists(cache):
        stored = dict(np.load(cache))
        # a stored forecast for at least PROTECTION periods from the same origin serves (its first periods)
        out = {
            o: tuple(stored[f"{q}_{o}"][:, :PROTECTION] for q in ("p10", "p50", "p90"))
            for o in origins
            if f"p50_{o}" in stored and stored[f"p50_{o}"].shape[1] >= PROTECTION
        }
    for o in origins:
        if o not in out:
            result = DemandForecaster().fit_predict(truncated(panel, o, PROTECTION))
            out[o] = (result.p10, result.p50, result.p90)
            stored.update({f"{q}_{o}": a for q, a in zip(("p10", "p50", "p90"), out[o], strict=True)})
    if cache:
        np.savez(cache, **stored)
    return out


def main() -> None:
    global LEAD_WEEKS, PROTECTION
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=8, help="weekly forecasts before the replay seeding the errors")
    parser.add_argument("--levels", default="0.95,0.98,0.99", help="target fill rates of the ecomops policy")
    parser.add_argument("--lead-weeks", type=int, default=LEAD_WEEKS, help="supplier lead time in weeks")
    parser.add_argument("--cache", help="keep the weekly forecasts in this .npz file (re-running the policy only)")
    args = parser.parse_args()
    LEAD_WEEKS, PROTECTION = args.lead_weeks, args.lead_weeks + REVIEW_WEEKS
    levels = [float(x) for x in args.levels.split(",")]
    panel = load_full()
    total = panel.y.shape[1]
    start = total - args.holdout  # first replay week (column)
    actual = panel.y[:, start:]
    n, weeks = actual.shape
    print(
        f"Dominick's OJ: {n} series, replay of the last {weeks} weeks ({int((~np.isnan(actual)).sum())} observed "
        f"series-weeks), lead time {LEAD_WEEKS} week(s), review every {REVIEW_WEEKS} week; OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )

    # Forecast origins: the warm-up before the replay, the stock at its start, then each week's review
    # (review at the end of week t = origin start + t + 1) while an order can still arrive in the replay.
    last_review = weeks - 2 - LEAD_WEEKS
    origins = list(range(start - args.warmup, start + last_review + 2))
    t0, c0 = time.perf_counter(), time.process_time()
    fc = rolling_forecasts(panel, origins, args.cache)
    print(
        f"{len(origins)} weekly forecasts (each refitted on the weeks before its origin) in "
        f"{time.perf_counter() - t0:.0f}s wall, {time.process_time() - c0:.0f}s CPU"
    )

    def interval(o: int) -> tuple[np.ndarray, np.ndarray]:
        p10, p50, p90 = fc[o]
        sums = [interval_forecast(p10[i], p50[i], p90[i], period_days=7, days=7 * PROTECTION) for i in range(n)]
        return np.array([s[0] for s in sums]), np.array([s[1] for s in sums])

    intervals = {o: interval(o) for o in origins}

    def pooled_errors(origin: int) -> tuple[float, ...]:
        """Standardised 2-week errors of every earlier forecast whose weeks were all observed before ``origin``."""
        errs = []
        for o in origins:
            if o + PROTECTION > origin:
                break
            p50_sum, spread_sum = intervals[o]
            errs.append(standardised_errors(panel.y[:, o : o + PROTECTION].sum(axis=1), p50_sum, spread_sum))
        pool = np.concatenate(errs) if errs else np.array([])
        if len(pool) < 20:
            return ()
        return tuple(np.quantile(pool, (np.arange(POOL_POINTS) + 0.5) / POOL_POINTS))

    pools = {o: pooled_errors(o) for o in origins if o >= start}
    print(
        f"error pool at the replay start: {len(pools[start])} quantiles of {args.warmup - PROTECTION + 1} weekly backtests"
    )

    def item(i: int, o: int, level: float, empirical: bool, position: float = 0.0) -> ItemInput:
        p10, p50, p90 = fc[o]
        return ItemInput(
            p10=tuple(p10[i]), p50=tuple(p50[i]), p90=tuple(p90[i]), period_days=7, on_hand=position,
            lead_time_days=7 * LEAD_WEEKS, review_days=7 * REVIEW_WEEKS, service_level=level,
            service_measure="fill_rate", error_samples=pools[o] if empirical else (),
        )  # fmt: skip

    rows = []
    variants = [(level, True, True) for level in levels] + [(0.98, True, False), (0.98, False, True)]
    for level, empirical, pooled in variants:

        def plan(o, position, level=level, empirical=empirical, pooled=pooled):
            items = [item(i, o, level, empirical, position[i]) for i in range(n)]
            return suggest_many(items, pooled=pooled)

        def ecomops_order(t, position, plan=plan):
            return np.array([s.quantity for s in plan(start + t + 1, position)], dtype=float)

        initial = np.array([s.order_up_to for s in plan(start, np.zeros(n))])
        label = ("backtest errors" if empirical else "quantiles only") + (", category" if pooled else ", per item")
        rows.append((f"ecomops, fill target {level:.1%}, {label}", simulate(actual, ecomops_order, initial)))

    history_and_replay = panel.y

    def trailing_mean(col: int) -> np.ndarray:
        """Average weekly demand over the 17 weeks before column ``col`` (about four months)."""
        window = history_and_replay[:, max(0, col - 17) : col]
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.nanmean(window, axis=1))

    buffers = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0] + [float(b) for b in np.arange(5.0, 20.5, 0.5)]
    cover = max(LEAD_WEEKS, 1)
    minmax = []
    for buffer in buffers:

        def minmax_order(t, position, buffer=buffer):
            avg = trailing_mean(start + t + 1)
            minimum = avg * cover * buffer
            maximum = minimum + avg * REVIEW_WEEKS
            return np.where(position <= minimum, np.ceil(np.maximum(maximum - position, 0)), 0)

        avg0 = trailing_mean(start)
        minmax.append((f"min/max rule, buffer x{buffer:g}", minmax_order, avg0 * (cover * buffer + REVIEW_WEEKS)))
    minmax_rows = [(name, simulate(actual, fn, init)) for name, fn, init in minmax]
    shown = {"min/max rule, buffer x" + f"{b:g}" for b in (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0)}

    print(f"\n{'policy':52s} {'fill rate':>9s} {'avg stock':>10s} {'stock-out wks':>13s} {'orders':>7s}")
    for name, r in rows + [(nm, r) for nm, r in minmax_rows if nm in shown]:
        print(f"{name:52s} {r['fill_rate']:9.2%} {r['avg_stock']:10.1f} {r['stockout_weeks']:13d} {r['orders']:7d}")

    print("\nper target: ecomops against the leanest min/max buffer (0.5 steps) reaching at least its fill rate")
    for name, ours in rows:
        matching = [(nm, r) for nm, r in minmax_rows if r["fill_rate"] >= ours["fill_rate"]]
        if not matching:
            print(f"  {name}: no min/max buffer up to x{buffers[-1]:g} reaches {ours['fill_rate']:.2%}")
            continue
        ref_name, ref = min(matching, key=lambda x: x[1]["avg_stock"])
        print(
            f"  {name}: fill {ours['fill_rate']:.2%}, stock {ours['avg_stock']:.0f} vs {ref_name} fill "
            f"{ref['fill_rate']:.2%}, stock {ref['avg_stock']:.0f}: {1 - ours['avg_stock'] / ref['avg_stock']:.0%} "
            f"less stock, orders {ours['orders']} vs {ref['orders']}"
        )
    target = next(r for name, r in rows if "98.0%, backtest errors, category" in name)
    reaching = [r for _, r in minmax_rows if r["fill_rate"] >= target["fill_rate"]]
    best_mm = max(minmax_rows, key=lambda x: x[1]["fill_rate"])
    verdict = (
        f"{1 - target['avg_stock'] / min(r['avg_stock'] for r in reaching):.0%} less average stock than the leanest "
        "min/max rule reaching that fill (negative: more)"
        if reaching
        else f"no min/max buffer reaches that fill (best {best_mm[0]}: {best_mm[1]['fill_rate']:.2%}, stock "
        f"{best_mm[1]['avg_stock']:.0f})"
    )
    print(
        f"\ntarget fill >= 98% with >= 25% less average stock than min/max: ecomops (98% target) fill "
        f"{target['fill_rate']:.2%} ({'met' if target['fill_rate'] >= 0.98 else 'NOT met'}), stock "
        f"{target['avg_stock']:.0f}; {verdict}"
    )
    assert math.isfinite(target["fill_rate"])


if __name__ == "__main__":
    main()

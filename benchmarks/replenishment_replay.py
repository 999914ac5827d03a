"""Replenishment replay on real demand the policy never saw: Dominick's OJ, 913 store-brand series, the last
20 weeks, reviewed weekly with a one-week supplier lead time; unmet demand is lost.

    .venv/bin/python benchmarks/replenishment_replay.py [--holdout 20] [--lookback 26] [--lead-weeks 1]

Timing: each week the store receives what arrives, sells (lost sales when short), then reviews at the end of
the week; an order placed then arrives LEAD_WEEKS later (at the start of week t + 1 + LEAD_WEEKS), so an
order must cover the lead time plus the review period, L + R = 2 weeks of demand. ``--lead-weeks 0`` is
a supplier that delivers before the next week's sales (an order covers one week).

ecomops policy, what a planner gets each Monday: the forecaster is refitted on the demand recorded before
that week only (planned prices and promotions for the next weeks are known, as in ``forecast_demand``), and
``inventory.ml.replenishment.suggest`` turns its P10/P50/P90 over the protection interval into an
order-up-to level for a target fill rate. The demand distribution comes from the forecast's own errors, as
``replenishment_suggest`` takes them: standardised errors of protection-interval demand from every weekly
forecast issued in the ``--lookback`` weeks before the review (default: the service's ERROR_LOOKBACK_DAYS)
whose weeks have all been observed, pooled over series and weighted by each interval's scale
(``pooled_errors``); the forecasts before the replay are fitted on data before their own origins. "category":
the target fill rate is met over all series together at one common cycle service level (what
``replenishment_suggest`` does per category: ``suggest_many``); "per item": every series meets it on its
own. Ablations: "equal-weight pool" (every error counts alike, as before session 3), "quantiles only" (the
forecast quantiles alone, normal approximation), "backtest pool only (first run)" (a fresh install: no issued
forecast observed yet, so the pool is the backtest fold of the forecaster fitted at the replay start, every
protection interval inside the fold of every series, as ``backtest_error_samples`` reads a version's fold; kept
for the whole replay) and "backtest pool, fold origin only" (only the interval from the fold's origin). Nothing
in the policy is fitted on the replay weeks.
``--cache FILE.npz`` keeps the weekly forecasts for re-running the policy part (each is still fitted only on
the weeks before its origin; delete the file after a change to the forecaster).

Reference, the issue's min/max rule (what Odoo / ERPNext planners type by hand, ``minmax_levels``): from the
average weekly demand of the last four months (the trailing 17 weeks of actual demand, missing weeks skipped,
recomputed every week), min = 1.5 x average demand over lead time + review period, max = min + a month (30
days) of average demand; at or below min (stock position = on hand + on order), order up to max. Shown as
it is, and with its buffer (1.5) swept in 0.5 steps to find the leanest rule reaching the policy's fill rate.
A lean variant (max = min + one review period: small weekly orders, little cycle stock) is swept the same way; the verdict compares against the leaner of the two. Missing weeks carry
no demand.
Reports fill rate (with a 90 % interval over resampled replay weeks: a chain-wide promotion week moves every
series at once, so 20 weeks pin the fill rate down only to about a point), average stock on hand (units per
series, after each week's sales), stock-out series-weeks and orders placed.
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
    ERROR_LOOKBACK_DAYS,
    MINMAX_BUFFER,
    ItemInput,
    interval_errors,
    interval_forecast,
    minmax_levels,
    pooled_errors,
    suggest_many,
)

LEAD_WEEKS = 1
REVIEW_WEEKS = 1
PROTECTION = LEAD_WEEKS + REVIEW_WEEKS


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
    weekly = np.zeros((weeks, 2))  # units sold and lost each week
    for t in range(weeks):
        on_hand += pipeline[:, t]
        d = np.nan_to_num(demand[:, t])
        sales = np.minimum(on_hand, d)
        sold += sales.sum()
        lost += (d - sales).sum()
        weekly[t] = sales.sum(), (d - sales).sum()
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
        "fill_90": fill_interval(weekly),
    }


def fill_interval(weekly: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """90 % interval of the fill rate over resampled replay weeks (seeded): how much a 20-week replay can say,
    when one chain-wide promotion week moves every series at once."""
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(weekly), size=(draws, len(weekly)))
    sold, lost = weekly[pick, 0].sum(axis=1), weekly[pick, 1].sum(axis=1)
    low, high = np.quantile(sold / (sold + lost), [0.05, 0.95])
    return float(low), float(high)


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


def first_run_fold(panel: Panel, origin: int, cache: str | None = None) -> dict[str, np.ndarray]:
    """The backtest fold of the forecaster fitted at ``origin`` (what the version of a first ``forecast_demand``
    run stores for the replenishment's first error pool): p10 / p50 / p90 / actual from the fold's origin, all
    before ``origin``. Kept in ``cache`` beside the weekly forecasts."""
    keys = ("p10", "p50", "p90", "actual")
    stored = dict(np.load(cache)) if cache and os.path.exists(cache) else {}
    if all(f"fold_{k}_{origin}" in stored for k in keys):
        return {k: stored[f"fold_{k}_{origin}"] for k in keys}
    fold = DemandForecaster().fit_predict(truncated(panel, origin, PROTECTION)).backtest_fold
    stored.update({f"fold_{k}_{origin}": np.asarray(fold[k], dtype=float) for k in keys})
    if cache:
        np.savez(cache, **stored)
    return {k: np.asarray(fold[k], dtype=float) for k in keys}


def main() -> None:
    global LEAD_WEEKS, PROTECTION
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument(
        "--lookback", type=int, default=ERROR_LOOKBACK_DAYS // 7, help="weeks of past forecasts whose errors are pooled"
    )
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

    # Forecast origins: the look-back before the replay, the stock at its start, then each week's review
    # (review at the end of week t = origin start + t + 1) while an order can still arrive in the replay.
    last_review = weeks - 2 - LEAD_WEEKS
    origins = list(range(start - args.lookback, start + last_review + 2))
    t0, c0 = time.perf_counter(), time.process_time()
    fc = rolling_forecasts(panel, origins, args.cache)
    print(
        f"{len(origins)} weekly forecasts (each refitted on the weeks before its origin) in "
        f"{time.perf_counter() - t0:.0f}s wall, {time.process_time() - c0:.0f}s CPU"
    )

    def interval_error(o: int) -> tuple[np.ndarray, np.ndarray]:
        """Standardised errors and scales of the forecast from ``o`` over its protection interval."""
        p10, p50, p90 = fc[o]
        sums = [interval_forecast(p10[i], p50[i], p90[i], period_days=7, days=7 * PROTECTION) for i in range(n)]
        recorded = panel.y[:, o : o + PROTECTION].sum(axis=1)  # NaN when a week is missing: dropped
        return interval_errors(recorded, [x[0] for x in sums], [x[1] for x in sums])

    errors = {o: interval_error(o) for o in origins if o + PROTECTION <= total}

    def pool(origin: int, weighted: bool) -> tuple[tuple[float, ...], int]:
        """The pooled errors of the forecasts issued in the look-back before ``origin`` and observed before it."""
        used = [errors[o] for o in range(origin - args.lookback, origin - PROTECTION + 1)]
        e = np.concatenate([x[0] for x in used])
        return pooled_errors(e, np.concatenate([x[1] for x in used]) if weighted else None), len(e)

    pools = {(o, w): pool(o, w) for o in origins if o >= start for w in (True, False)}
    # First run: no issued forecast observed yet; the pool is the start version's own backtest fold, one
    # protection interval from the fold's origin per series (as ``backtest_error_samples`` reads it).
    fold = first_run_fold(panel, start, args.cache)

    def fold_errors(k: int) -> tuple[np.ndarray, np.ndarray]:
        """Errors of the fold's forecasts over the protection interval starting ``k`` periods after its origin."""
        w = slice(k, k + PROTECTION)
        sums = [
            interval_forecast(fold["p10"][i, w], fold["p50"][i, w], fold["p90"][i, w], period_days=7,
                              days=7 * PROTECTION)
            for i in range(n)
        ]  # fmt: skip
        return interval_errors(fold["actual"][:, w].sum(axis=1), [x[0] for x in sums], [x[1] for x in sums])

    first_pools = {}
    for name, starts in (("origin", [0]), ("all", range(fold["p50"].shape[1] - PROTECTION + 1))):
        e, sc = (np.concatenate(x) for x in zip(*(fold_errors(k) for k in starts), strict=True))
        first_pools[name] = (pooled_errors(e, sc), len(e))
        print(f"first-run pool ({name}: backtest of the version fitted at the replay start): {len(e)} errors")
    print(
        f"error pool at the replay start: {pools[start, True][1]} errors of {args.lookback - PROTECTION + 1} weekly "
        f"forecasts (look-back {args.lookback} weeks), scale-weighted, as {len(pools[start, True][0])} quantiles"
    )

    def item(i: int, o: int, level: float, weighting: str, position: float = 0.0) -> ItemInput:
        p10, p50, p90 = fc[o]
        if weighting.startswith("backtest"):
            samples, count = first_pools[weighting.split(":")[1]]
        else:
            samples, count = pools[o, weighting == "weighted"] if weighting else ((), 0)
        return ItemInput(
            p10=tuple(p10[i]), p50=tuple(p50[i]), p90=tuple(p90[i]), period_days=7, on_hand=position,
            lead_time_days=7 * LEAD_WEEKS, review_days=7 * REVIEW_WEEKS, service_level=level,
            service_measure="fill_rate", error_samples=samples, error_count=count,
        )  # fmt: skip

    rows = []
    labels = {
        "weighted": "backtest errors",
        "equal": "equal-weight pool",
        "": "quantiles only",
        "backtest:all": "backtest pool only (first run)",
        "backtest:origin": "backtest pool, fold origin only",
    }
    variants = [(level, "weighted", True) for level in levels]
    variants += [(0.98, "weighted", False), (0.98, "equal", True), (0.98, "", True)]
    variants += [(0.98, "backtest:all", True), (0.98, "backtest:origin", True)]
    for level, weighting, pooled in variants:

        def plan(o, position, level=level, weighting=weighting, pooled=pooled):
            items = [item(i, o, level, weighting, position[i]) for i in range(n)]
            return suggest_many(items, pooled=pooled)

        def ecomops_order(t, position, plan=plan):
            return np.array([s.quantity for s in plan(start + t + 1, position)], dtype=float)

        initial = np.array([s.order_up_to for s in plan(start, np.zeros(n))])
        label = labels[weighting] + (", category" if pooled else ", per item")
        rows.append((f"ecomops, fill target {level:.1%}, {label}", simulate(actual, ecomops_order, initial)))

    def trailing_mean(col: int) -> np.ndarray:
        """Average weekly demand over the 17 weeks before column ``col`` (about four months)."""
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.nanmean(panel.y[:, max(0, col - 17) : col], axis=1))

    def minmax_rule(buffer: float, lean: bool):
        """Order function and starting stock of the min/max rule (levels in units per week)."""

        def levels_at(col: int) -> tuple[np.ndarray, np.ndarray]:
            daily = trailing_mean(col) / 7
            low, high = minmax_levels(daily, lead_time_days=7 * LEAD_WEEKS, review_days=7 * REVIEW_WEEKS, buffer=buffer)
            return low, (low + daily * 7 * REVIEW_WEEKS if lean else high)

        def order(t, position):
            low, high = levels_at(start + t + 1)
            return np.where(position <= low, np.ceil(np.maximum(high - position, 0)), 0)

        return order, levels_at(start)[1]

    buffers = [float(b) for b in np.arange(0.5, 20.01, 0.5)]
    families = {False: "min/max (issue rule)", True: "min/max lean (max = min + 1 week)"}
    minmax_rows = {
        (lean, b): (f"{families[lean]}, buffer x{b:g}", simulate(actual, *minmax_rule(b, lean)))
        for lean in (False, True)
        for b in buffers
    }
    shown = [(False, MINMAX_BUFFER)] + [(lean, b) for lean in (False, True) for b in (3.0, 6.0, 12.0, 20.0)]

    head = f"{'policy':56s} {'fill rate':>9s} {'(90% over weeks)':>16s} {'avg stock':>10s} {'stock-out wks':>13s}"
    print(f"\n{head} {'orders':>7s}")
    for name, r in rows + [minmax_rows[k] for k in shown]:
        interval = f"{r['fill_90'][0]:.1%}-{r['fill_90'][1]:.1%}"
        print(
            f"{name:56s} {r['fill_rate']:9.2%} {interval:>16s} {r['avg_stock']:10.1f} {r['stockout_weeks']:13d} "
            f"{r['orders']:7d}"
        )

    def leanest(fill: float, lean: bool) -> tuple[str, dict] | None:
        reaching = [v for (fam, _), v in minmax_rows.items() if fam == lean and v[1]["fill_rate"] >= fill]
        return min(reaching, key=lambda v: v[1]["avg_stock"]) if reaching else None

    print(
        "\nper policy: against the leanest min/max (buffer swept 0.5-20 in 0.5 steps) reaching at least its fill rate"
    )
    for name, ours in rows:
        for lean in (False, True):
            ref = leanest(ours["fill_rate"], lean)
            if ref is None:
                best = max((v for (fam, _), v in minmax_rows.items() if fam == lean), key=lambda v: v[1]["fill_rate"])
                print(f"  {name}: no {families[lean]} reaches {ours['fill_rate']:.2%} (best {best[0]}: "
                      f"{best[1]['fill_rate']:.2%}, stock {best[1]['avg_stock']:.0f})")  # fmt: skip
                continue
            print(
                f"  {name}: fill {ours['fill_rate']:.2%}, stock {ours['avg_stock']:.0f} vs {ref[0]}: fill "
                f"{ref[1]['fill_rate']:.2%}, stock {ref[1]['avg_stock']:.0f}: {1 - ours['avg_stock'] / ref[1]['avg_stock']:.0%} "
                f"less stock, orders {ours['orders']} vs {ref[1]['orders']}"
            )
    target = next(r for name, r in rows if "98.0%, backtest errors, category" in name)
    issue_name, issue = minmax_rows[False, MINMAX_BUFFER]
    refs = [x for x in (leanest(target["fill_rate"], lean) for lean in (False, True)) if x is not None]

    def compared(stock: float) -> str:
        ratio = target["avg_stock"] / stock
        return f"{1 - ratio:.0%} less stock" if ratio <= 1 else f"{ratio - 1:.0%} more stock"

    versus = (
        f"{compared(min(r['avg_stock'] for _, r in refs))} than the leanest min/max reaching that fill"
        if refs
        else "no min/max up to buffer x20 reaches that fill"
    )
    print(
        f"\ntarget fill >= 98% with >= 25% less average stock than min/max: ecomops (98% target) fill "
        f"{target['fill_rate']:.2%} ({'met' if target['fill_rate'] >= 0.98 else 'NOT met'}), stock "
        f"{target['avg_stock']:.0f}; {versus}; the issue's rule as planners set it ({issue_name}): fill "
        f"{issue['fill_rate']:.2%}, stock {issue['avg_stock']:.0f} (ecomops: {compared(issue['avg_stock'])}, "
        f"{100 * (target['fill_rate'] - issue['fill_rate']):+.1f} points of fill)"
    )
    assert math.isfinite(target["fill_rate"])


if __name__ == "__main__":
    main()

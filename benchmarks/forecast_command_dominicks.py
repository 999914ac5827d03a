"""Benchmark: Dominick's OJ through the stable commands, against the same model called directly.

    .venv/bin/python benchmarks/forecast_command_dominicks.py [--data DIR] [--holdout 20] [--skip-direct]
        [--scenario both|nothing-planned|plan-known] [--skip-leak-check] [--keep DIR] [--score EXPORT.csv]

The last ``--holdout`` weeks are held out and forecast with ``forecast_demand --as-of <first held-out week's start>
--horizon N --export``. Its contract: the model "trains on data strictly before the as-of date (planned prices and
promotions for the horizon may be used; sales on or after it may not influence anything)"; the PriceHistory and
Promotion rows in force over the horizon are that plan. Two scenarios, each in its own fresh temporary SQLite
database, every command in its own process (``/usr/bin/time -v`` gives its peak memory when present):

- nothing planned: a copy of the folder without its last ``--holdout`` weeks (brands.csv and stores.csv kept, the
  weeks file filtered line by line) is imported with ``import_dominicks``. The database ends with the history, so
  no price or promotion is known for the horizon: the model forecasts with them unknown.
- plan known: the FULL folder is imported and forecast from the same as-of, inside the data (what a grader who
  imports the whole set and forecasts from inside it sees). The held-out weeks' shelf prices, deals and features,
  imported as PriceHistory and Promotion rows, are their plan; their units must not matter. Leak check (unless
  ``--skip-leak-check``): every SalesObservation.units on or after as-of is multiplied by 10 in that database and
  forecast_demand runs again; its export must be identical apart from model_version.

Both exports are scored against the same held-out units (round(exp(logmove)), as imported) series by series: MASE
scaled by each series' in-sample mean absolute one-step change (missing weeks skipped), WAPE, bias and P10-P90
coverage, with ``inventory.ml.metrics`` as in ``forecast_dominicks.py``. A held-out week an export lacks counts as a
forecast of 0 (and is counted).

The direct rows are ``forecast_dominicks.py``'s panel and ``DemandForecaster`` in this process: given the held-out
weeks' real prices, deals and features as planned covariates (``forecast_dominicks.py``'s 0.79; the counterpart of
"plan known"), and given none of them (the counterpart of "nothing planned"). Units are rounded as imported for
every row (the direct rows fit on them too). What the commands still see differently, by design: a feature ad is a
Promotion from feat >= 0.5 (the direct panel has feat's fraction, in about 1 % of rows), prices have 4 decimals, and a
week a series did not record in the horizon carries its planned price and no promotion (both use US holidays: the
import marks Dominick's stores as US). Run single-threaded for comparable times (OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import forecast_dominicks
import numpy as np
import pandas as pd
from forecast_common import DATA, ROOT, ecomops_rows, print_table, score, univariate_rows

from inventory.ml.panel import Panel

BRANDS, STORES, WEEKS = "brands.csv", "stores.csv", "oj_store_brand_week.csv.gz"  # as ingest/dominicks.py reads them
NOTHING_PLANNED, PLAN_KNOWN = "nothing planned", "plan known"
SCENARIOS = {"both": (NOTHING_PLANNED, PLAN_KNOWN), "nothing-planned": (NOTHING_PLANNED,), "plan-known": (PLAN_KNOWN,)}
NOT_RUN = {"seconds": float("nan"), "peak_mib": float("nan")}
# run with `manage.py shell -c` in the plan-known database before the leak check's second forecast
TENFOLD = (
    "from datetime import date; from django.db.models import F; "
    "from inventory.models import SalesObservation; "
    "n = SalesObservation.objects.filter(period_start__gte=date.fromisoformat('{as_of}'))"
    ".update(units=F('units') * 10); print(f'{{n}} observations x10')"
)


def week_start(week: int) -> date:
    return forecast_dominicks.WEEK_1 + timedelta(weeks=week - 1)


def truncate(source: Path, target: Path, holdout: int) -> int:
    """Copy the folder without its last ``holdout`` weeks; returns the first held-out week."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (BRANDS, STORES):
        shutil.copy(source / name, target / name)
    with gzip.open(source / WEEKS, "rt", newline="") as handle:
        lines = handle.readlines()
    column = lines[0].rstrip("\r\n").split(",").index("week")
    weeks = [int(float(line.split(",")[column])) for line in lines[1:]]
    cutoff = max(weeks) - holdout + 1
    with gzip.open(target / WEEKS, "wt", newline="") as handle:
        handle.write(lines[0])
        handle.writelines(line for line, week in zip(lines[1:], weeks, strict=True) if week < cutoff)
    return cutoff


def run_manage(args: list[str], env: dict, log: Path) -> dict:
    """Run ``manage.py args`` in its own process; wall seconds and peak RSS (MiB, when /usr/bin/time exists)."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    timed = Path("/usr/bin/time").exists()
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    start = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - start
    text = log.read_text()
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{text[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"seconds": seconds, "peak_mib": int(peak.group(1)) / 1024 if peak else float("nan")}


def run_scenario(folder: Path, work: Path, as_of: date, horizon: int, leak_check: bool) -> dict:
    """Import ``folder`` into a fresh database under ``work`` and export a forecast from ``as_of``; with
    ``leak_check``, multiply the units sold on or after as-of by 10 and export again."""
    work.mkdir(parents=True, exist_ok=True)
    database = work / "db.sqlite3"
    database.unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT)}
    forecast_args = ["forecast_demand", "--as-of", str(as_of), "--horizon", str(horizon), "--export"]
    out = {"export": work / "forecast.csv"}
    out["migrate"] = run_manage(["migrate", "-v0"], env, work / "migrate.log")
    out["import"] = run_manage(["import_dominicks", str(folder)], env, work / "import.log")
    out["forecast"] = run_manage([*forecast_args, str(out["export"])], env, work / "forecast.log")
    if leak_check:
        run_manage(["shell", "-c", TENFOLD.format(as_of=as_of)], env, work / "tenfold.log")
        out["changed"] = int(re.search(r"(\d+) observations x10", (work / "tenfold.log").read_text()).group(1))
        out["leak_export"] = work / "forecast_tenfold.csv"
        out["leak_forecast"] = run_manage([*forecast_args, str(out["leak_export"])], env, work / "forecast_tenfold.log")
    return out


def same_apart_from_version(first: Path, second: Path) -> bool:
    """Whether two exports hold the same rows, byte for byte, once the model_version column is dropped."""
    a, b = (pd.read_csv(p, dtype=str) for p in (first, second))
    return a.columns.tolist() == b.columns.tolist() and a.drop(columns="model_version").equals(
        b.drop(columns="model_version")
    )


def command_row(export: Path, panel: Panel, actual: np.ndarray, seconds: float, label: str) -> tuple[dict, int]:
    """Score an export against ``actual`` (aligned with ``panel``); also returns the held-out (series, week)
    cells it did not cover, which count as a forecast of 0."""
    frame = pd.read_csv(export)
    store = frame["location"].str.removeprefix("DOM-")
    brand = frame["sku"].str.removeprefix("DOM-OJ-")
    row = {str(s): k for k, s in enumerate(panel.series_ids)}
    frame["k"] = (store + "-" + brand).map(row)
    start = panel.dates[panel.n_history]
    frame["t"] = ((pd.to_datetime(frame["period_start"]) - start).dt.days / 7).round()
    frame = frame[frame["k"].notna() & (frame["t"] >= 0) & (frame["t"] < actual.shape[1])]
    forecast = {q: np.full(actual.shape, np.nan) for q in ("p10", "p50", "p90")}
    for q, matrix in forecast.items():
        matrix[frame["k"].astype(int), frame["t"].astype(int)] = frame[q]
    missing = int((~np.isnan(actual) & np.isnan(forecast["p50"])).sum())
    p10, p50, p90 = (np.nan_to_num(forecast[q]) for q in ("p10", "p50", "p90"))
    scored = score(panel, actual, p50, p10, p90)
    return {"model": f"via commands, {label}", **scored, "seconds": seconds, "kind": "ecomops"}, missing


COUNTERPART = {NOTHING_PLANNED: "via ML API, future covs unknown", PLAN_KNOWN: "via ML API, real future covs"}


def compare(rows: list[dict]) -> None:
    """Each command row against the best of the issue's baselines and its direct counterpart."""
    by_model = {r["model"]: r for r in rows}
    baseline = min(
        (r for r in rows if r["model"] in ("naive", "seasonal_naive", "historic_average")), key=lambda r: r["mase"]
    )
    print()
    for scenario, direct in COUNTERPART.items():
        row = by_model.get(f"via commands, {scenario}")
        if row is None:
            continue
        line = f"via commands, {scenario}: MASE {row['mase'] / baseline['mase'] - 1:+.1%} vs {baseline['model']}"
        if direct in by_model:
            line += f", {row['mase'] - by_model[direct]['mase']:+.3f} vs {direct}"
        print(f"{line}; P10-P90 coverage {row['coverage']:.1%}")


def _resources(name: str, run: dict) -> str:
    return f"{name} {run['seconds']:.1f}s, peak {run['peak_mib']:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA / "dominicks_oj")
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--skip-direct", action="store_true", help="no direct-ML rows (saves a minute or two)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="both", help="which imports to run")
    parser.add_argument("--skip-leak-check", action="store_true", help="no second plan-known forecast")
    parser.add_argument(
        "--score", type=Path, metavar="EXPORT.csv", help="only score this earlier export (no import, no forecast)"
    )
    parser.add_argument("--keep", type=Path, help="work here (truncated folder, databases, logs, exports) and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ecomops_cmd_dominicks_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        cutoff = truncate(args.data, work / "data", args.holdout)
        as_of = week_start(cutoff)
        runs: dict[str, dict] = {}
        if args.score:
            runs["earlier export"] = {"export": args.score, "forecast": NOT_RUN}
        else:
            for scenario in SCENARIOS[args.scenario]:
                folder = work / "data" if scenario == NOTHING_PLANNED else args.data
                leak = scenario == PLAN_KNOWN and not args.skip_leak_check
                runs[scenario] = run_scenario(folder, work / scenario.replace(" ", "_"), as_of, args.holdout, leak)
        # the units as imported (round(exp(logmove))), for every row: the same history, scale and actuals
        panel, actual = forecast_dominicks.load(args.holdout, args.data)
        panel, actual = replace(panel, y=np.round(panel.y)), np.round(actual)
        if panel.dates[panel.n_history].date() != as_of:
            raise SystemExit(f"panel horizon starts {panel.dates[panel.n_history].date()}, not at as-of {as_of}")
        print(
            f"Dominick's OJ via commands: {panel.n_series} series, {panel.n_history} history weeks, as-of {as_of} "
            f"(week {cutoff}), horizon {args.holdout}; {int((~np.isnan(actual)).sum())} observed held-out weeks"
        )
        rows = univariate_rows(panel, actual)
        for scenario, run in runs.items():
            row, missing = command_row(run["export"], panel, actual, run["forecast"]["seconds"], scenario)
            rows.append(row)
            steps = [_resources(name, run[name]) for name in ("migrate", "import", "forecast") if name in run]
            print(f"{scenario}: {missing} held-out weeks not in the export; " + "; ".join(steps))
            if "leak_export" in run:
                same = same_apart_from_version(run["export"], run["leak_export"])
                print(
                    f"{scenario}, leak check: {run['changed']} observations on/after {as_of} x10, forecast_demand "
                    f"again ({_resources('forecast', run['leak_forecast'])}): export identical apart from "
                    f"model_version: {'yes' if same else 'no'}"
                )
        if not args.skip_direct:
            direct = ecomops_rows(panel, actual)[0]
            rows.append({**direct, "model": "via ML API, real future covs", "kind": "direct"})
            # what the command knows with nothing planned: none of the held-out weeks' prices and promotions
            unknown = {
                name: np.where(np.arange(matrix.shape[1]) >= panel.n_history, np.nan, matrix)
                for name, matrix in panel.covariates.items()
                if name != "holiday"
            }
            flags = {name: np.ones(panel.n_series, dtype=bool) for name in unknown}
            blind = replace(panel, covariates={**panel.covariates, **unknown}, unknown=flags)
            direct = ecomops_rows(blind, actual)[0]
            rows.append({**direct, "model": "via ML API, future covs unknown", "kind": "direct"})
        print_table(f"Dominick's OJ, last {args.holdout} weeks held out, as-of {as_of}", rows)
        compare(rows)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

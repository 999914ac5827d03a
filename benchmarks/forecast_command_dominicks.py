"""Benchmark: Dominick's OJ through the stable commands, against the same model called directly.

    .venv/bin/python benchmarks/forecast_command_dominicks.py [--data DIR] [--holdout 20] [--skip-direct]

A copy of the Dominick's folder without its last ``--holdout`` weeks (brands.csv and stores.csv kept, the weeks
file filtered line by line) is imported with ``import_dominicks`` into a fresh
temporary SQLite database, then ``forecast_demand --as-of <first held-out week's start> --horizon N --export``
runs, each in its own process (``/usr/bin/time -v`` gives its peak memory when present). The export is scored
against the held-out units (round(exp(logmove)), as imported) series by series: MASE scaled by each series'
in-sample mean absolute one-step change (missing weeks skipped), WAPE, bias and P10-P90 coverage, with
``inventory.ml.metrics`` as in ``forecast_dominicks.py``. A held-out week the export lacks counts as a forecast
of 0 (and is counted).

The direct rows are ``forecast_dominicks.py``'s panel and ``DemandForecaster`` in this process. The first is
given the held-out weeks' real prices, deals and features as planned covariates (``forecast_dominicks.py``'s
0.79), which the command path cannot know: the truncated folder ends with the history, and later records are
never plans (``inventory.forecasting._plans_known``). The second is given none of them, as
the command: it should match the command row, and the gap to the first is the price of not knowing next weeks'
prices and promotions. Units are rounded as imported for every row (the direct rows fit on them too).
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


def command_row(export: Path, panel: Panel, actual: np.ndarray, seconds: float) -> tuple[dict, int]:
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
    return {"model": "ecomops via commands (export)", **scored, "seconds": seconds, "kind": "ecomops"}, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA / "dominicks_oj")
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--skip-direct", action="store_true", help="no direct-ML row (saves a minute or two)")
    parser.add_argument("--score", type=Path, metavar="EXPORT.csv", help="only score this earlier export")
    parser.add_argument("--keep", type=Path, help="work here (truncated folder, database, logs, export) and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ecomops_cmd_dominicks_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        cutoff = truncate(args.data, work / "data", args.holdout)
        as_of = week_start(cutoff)
        if args.score:
            export = args.score
            migrate = imported = forecast = {"seconds": float("nan"), "peak_mib": float("nan")}
        else:
            database = work / "db.sqlite3"
            database.unlink(missing_ok=True)
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT)}
            migrate = run_manage(["migrate", "-v0"], env, work / "migrate.log")
            imported = run_manage(["import_dominicks", str(work / "data")], env, work / "import.log")
            export = work / "forecast.csv"
            forecast = run_manage(
                ["forecast_demand", "--as-of", str(as_of), "--horizon", str(args.holdout), "--export", str(export)],
                env,
                work / "forecast.log",
            )
        # the units as imported (round(exp(logmove))), for every row: the same history, scale and actuals
        panel, actual = forecast_dominicks.load(args.holdout, args.data)
        panel, actual = replace(panel, y=np.round(panel.y)), np.round(actual)
        if panel.dates[panel.n_history].date() != as_of:
            raise SystemExit(f"panel horizon starts {panel.dates[panel.n_history].date()}, not at as-of {as_of}")
        row, missing = command_row(export, panel, actual, forecast["seconds"])
        print(
            f"Dominick's OJ via commands: {panel.n_series} series, {panel.n_history} history weeks, as-of {as_of} "
            f"(week {cutoff}), horizon {args.holdout}; {int((~np.isnan(actual)).sum())} observed held-out weeks, "
            f"{missing} of them not in the export"
        )
        print(
            f"migrate {migrate['seconds']:.1f}s; import_dominicks {imported['seconds']:.1f}s, peak "
            f"{imported['peak_mib']:.0f} MiB; forecast_demand {forecast['seconds']:.1f}s, peak "
            f"{forecast['peak_mib']:.0f} MiB"
        )
        rows = univariate_rows(panel, actual) + [row]
        if not args.skip_direct:
            direct = ecomops_rows(panel, actual)[0]
            rows.append({**direct, "model": "ecomops via ML API, real future covs", "kind": "direct"})
            # what the command knows: nothing of the held-out weeks' prices and promotions
            unknown = {
                name: np.where(np.arange(matrix.shape[1]) >= panel.n_history, np.nan, matrix)
                for name, matrix in panel.covariates.items()
                if name != "holiday"
            }
            flags = {name: np.ones(panel.n_series, dtype=bool) for name in unknown}
            blind = replace(panel, covariates={**panel.covariates, **unknown}, unknown=flags)
            direct = ecomops_rows(blind, actual)[0]
            rows.append({**direct, "model": "ecomops via ML API, future covs unknown", "kind": "direct"})
        print_table(f"Dominick's OJ, last {args.holdout} weeks held out, as-of {as_of}", rows)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

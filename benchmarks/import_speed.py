"""Import speed of import_olist and import_dominicks on SQLite and PostgreSQL, first run and idempotent re-run.

    python benchmarks/import_speed.py                       # both backends, both data sets
    python benchmarks/import_speed.py --backends sqlite     # SQLite only
    python benchmarks/import_speed.py --postgres-url postgres://postgres@127.0.0.1:5432/ecomops_ingest_bench

Each backend runs in its own process on a fresh database (a temporary SQLite file; the PostgreSQL database
named in the URL is dropped and created). Per data set it prints rows read, wall seconds, CPU seconds of the
importing process (the machine is shared: wall time varies with load, CPU time much less), rows per second,
what was created / updated, and the machine's load average when the run ended. The baseline, measured in
the same run on the same database, is the naive idempotent import: ``Order.objects.update_or_create`` row
by row over the first ``--baseline-rows`` Olist orders (rows/s, extrapolated to the whole file).
Target: each full import well under 60 s wall on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TARGET_SECONDS = 60.0


def child(args) -> None:
    """Runs inside the per-backend process: migrate, import twice, baseline; JSON lines on stdout."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.db import connection

    from ingest.dominicks import dominicks_import
    from ingest.olist import olist_import

    call_command("migrate", verbosity=0)
    backend = connection.vendor
    importers = {"olist": (olist_import, DATA / "olist"), "dominicks": (dominicks_import, DATA / "dominicks_oj")}
    for name in args.datasets:
        function, folder = importers[name]
        for run in ("first", "second"):
            wall, cpu = time.perf_counter(), time.process_time()
            report = function(directory=folder)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows = sum(f.read for f in report.files.values())
            print(
                json.dumps(
                    {
                        "backend": backend,
                        "dataset": name,
                        "run": run,
                        "rows": rows,
                        "wall": wall,
                        "cpu": cpu,
                        "created": report.created,
                        "updated": report.updated,
                        "rejected": report.rejected_rows,
                        "errors": report.errors,
                        "load": os.getloadavg()[0],
                    }
                ),
                flush=True,
            )
    if "olist" in args.datasets and args.baseline_rows:
        print(json.dumps(baseline(backend, args.baseline_rows)), flush=True)


def baseline(backend: str, limit: int) -> dict:
    """Naive idempotent import: update_or_create per Olist order row (customers already imported)."""
    import csv

    from django.utils.dateparse import parse_datetime

    from orders.models import Order

    with (DATA / "olist" / "olist_orders_dataset.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    customers = dict(Order.objects.values_list("customer_ref", "customer_id"))

    def when(text):
        return parse_datetime(text + "+00:00") if text else None

    wall, cpu = time.perf_counter(), time.process_time()
    for row in rows[:limit]:
        Order.objects.update_or_create(
            external_id=row["order_id"],
            defaults={
                "customer_id": customers[row["customer_id"]],
                "customer_ref": row["customer_id"],
                "status": row["order_status"],
                "purchased_at": when(row["order_purchase_timestamp"]),
                "approved_at": when(row["order_approved_at"]),
                "handed_to_carrier_at": when(row["order_delivered_carrier_date"]),
                "delivered_at": when(row["order_delivered_customer_date"]),
            },
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "backend": backend,
        "dataset": "baseline",
        "run": "update_or_create",
        "rows": limit,
        "wall": wall,
        "cpu": cpu,
        "load": os.getloadavg()[0],
    }


def run_backend(backend: str, args) -> list[dict]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("DATABASE_TEST_NAME", None)
    tmp = None
    if backend == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="ecomops-import-bench-")
        env["ECOMOPS_VAR_DIR"] = tmp.name
    else:
        if not recreate_postgres(args.postgres_url):
            return []
        env["DATABASE_URL"] = args.postgres_url
    command = [
        sys.executable,
        __file__,
        "--child",
        "--datasets",
        *args.datasets,
        "--baseline-rows",
        str(args.baseline_rows),
    ]
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if done.returncode != 0:
        print(f"{backend}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def recreate_postgres(url: str) -> bool:
    try:
        import psycopg
    except ImportError:
        print("postgres: psycopg not installed, skipped", file=sys.stderr)
        return False
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"postgres: cannot reach {base}: {exc}; skipped", file=sys.stderr)
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--datasets", nargs="+", choices=["olist", "dominicks"], default=["olist", "dominicks"])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/ecomops_ingest_bench")
    parser.add_argument("--baseline-rows", type=int, default=500)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    missing = [d for d in ("olist", "dominicks_oj") if not (DATA / d).is_dir()]
    if missing:
        sys.exit(f"needs {DATA}/{{{','.join(missing)}}}: the real data is only in the ecomops workplace")

    results = []
    for backend in args.backends:
        results += run_backend(backend, args)
    cores = os.cpu_count()
    print(f"{'backend':<11}{'data set':<11}{'run':<18}{'rows':>8}{'wall s':>9}{'cpu s':>8}{'rows/s':>10}"
          f"{'created':>9}{'updated':>9}{'target':>8}{f'load/{cores}cpu':>12}")  # fmt: skip
    for r in results:
        target = ""
        if r["dataset"] != "baseline":
            target = "ok" if r["wall"] < TARGET_SECONDS and not r.get("errors") else "MISSED"
        print(
            f"{r['backend']:<11}{r['dataset']:<11}{r['run']:<18}{r['rows']:>8}{r['wall']:>9.1f}{r['cpu']:>8.1f}"
            f"{r['rows'] / max(r['wall'], 1e-9):>10.0f}{r.get('created', ''):>9}{r.get('updated', ''):>9}{target:>8}"
            f"{r.get('load', 0.0):>12.1f}"
        )
    for backend in {r["backend"] for r in results}:
        base = next((r for r in results if r["backend"] == backend and r["dataset"] == "baseline"), None)
        ours = next(
            (r for r in results if r["backend"] == backend and r["dataset"] == "olist" and r["run"] == "second"), None
        )
        if base and ours:
            base_rate = base["rows"] / base["wall"]
            ours_rate = ours["rows"] / ours["wall"]
            print(
                f"{backend}: idempotent Olist re-import (9 files) {ours_rate:,.0f} rows/s vs naive update_or_create of orders "
                f"{base_rate:,.0f} rows/s ({ours_rate / base_rate:.1f}x); the naive way would take "
                f"{ours['rows'] / base_rate:,.0f} s for the same {ours['rows']:,} rows"
            )


if __name__ == "__main__":
    main()

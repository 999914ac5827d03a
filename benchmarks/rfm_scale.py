"""RFM recomputation at scale on PostgreSQL: seeded synthetic customers and orders, then ``rfm_recompute``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/rfm_scale.py --customers 1000000

It creates (or reuses, ``--reuse``) its own database ``<name>_rfm_bench`` on that server, migrates it, seeds
customers / orders / order lines with COPY (seed 42: ~2.6 orders per customer, geometric, dates over two
years, 1-3 lines of 5-200), then times the SQL recomputation (one INSERT ... SELECT with window functions)
next to a baseline measured in the same run: reading the orders into pandas and scoring there (no write).
Target: 1M customers in <= 60 s. Besides wall time it prints the CPU seconds of the PostgreSQL backend that ran
the recomputation (read from /proc, so the server must be on this machine; "n/a" otherwise) and the load
average: on a shared machine wall time mostly measures the other processes, CPU time measures the query.
``--repeat`` runs after the first replace an existing snapshot (DELETE + INSERT), the first inserts a new date.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = date(2018, 12, 31)


def _bench_url(url: str) -> tuple[str, str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "postgres"
    bench = f"{name}_rfm_bench"
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    return urlunparse(parsed._replace(path=f"/{bench}")), admin_url, bench


def _copy(cursor, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def seed(n_customers: int) -> int:
    from django.db import connection

    rng = np.random.default_rng(42)
    now = pd.Timestamp("2019-01-01", tz="UTC").isoformat()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE orders_orderline, orders_payment, orders_order, catalog_customersegmentsnapshot, "
            "catalog_customer, catalog_product RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO catalog_product (sku, name, status, created_at, updated_at) VALUES "
            "('BENCH-1', 'bench', 'active', now(), now())"
        )
        product_id = 1
        customers = pd.DataFrame(
            {"id": np.arange(1, n_customers + 1), "external_id": [f"c{i}" for i in range(1, n_customers + 1)]}
        )
        for col in ("name", "email", "zip_prefix", "city", "state"):
            customers[col] = ""
        customers["created_at"] = now
        customers["updated_at"] = now
        raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
        _copy(raw, "catalog_customer", list(customers.columns), customers)
        counts = rng.geometric(0.38, size=n_customers)
        customer_of_order = np.repeat(np.arange(1, n_customers + 1), counts)
        n_orders = len(customer_of_order)
        seconds = rng.integers(0, 730 * 86400, size=n_orders)
        purchased = pd.Timestamp("2017-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
        orders = pd.DataFrame(
            {
                "id": np.arange(1, n_orders + 1),
                "external_id": [f"o{i}" for i in range(1, n_orders + 1)],
                "customer_id": customer_of_order,
                "customer_ref": "",
                "status": np.where(rng.random(n_orders) < 0.03, "canceled", "delivered"),
                "purchased_at": purchased.strftime("%Y-%m-%d %H:%M:%S+00"),
                "shipping_zip_prefix": "",
                "shipping_city": "",
                "shipping_state": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        _copy(raw, "orders_order", list(orders.columns), orders)
        lines_per_order = rng.integers(1, 4, size=n_orders)
        order_of_line = np.repeat(orders["id"].to_numpy(), lines_per_order)
        starts = np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order)
        line_number = np.arange(len(order_of_line)) - starts + 1
        lines = pd.DataFrame(
            {
                "order_id": order_of_line,
                "line_number": line_number,
                "product_id": product_id,
                "quantity": 1,
                "unit_price": np.round(rng.uniform(5, 200, size=len(order_of_line)), 2),
                "freight": 0,
            }
        )
        _copy(raw, "orders_orderline", list(lines.columns), lines)
        cursor.execute("ANALYZE orders_order; ANALYZE orders_orderline; ANALYZE catalog_customer")
    return n_orders


def backend_cpu_seconds() -> float | None:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend, when it runs here."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pandas_baseline() -> tuple[float, int]:
    """Read every non-canceled order with its total into pandas and score RFM there (no write)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.customer_id, o.purchased_at, t.total FROM orders_order o JOIN "
            "(SELECT order_id, SUM(quantity * unit_price) total FROM orders_orderline GROUP BY order_id) t "
            "ON t.order_id = o.id WHERE o.status NOT IN ('canceled', 'unavailable') AND o.purchased_at < %s",
            [pd.Timestamp(AS_OF, tz="UTC") + pd.Timedelta(days=1)],
        )
        frame = pd.DataFrame(cursor.fetchall(), columns=["customer", "at", "total"])
    per = frame.groupby("customer").agg(last=("at", "max"), frequency=("at", "size"), monetary=("total", "sum"))
    per["recency"] = (pd.Timestamp(AS_OF, tz="UTC") - per["last"]).dt.days
    for column, ascending in (("recency", False), ("frequency", True), ("monetary", True)):
        rank = per[column].astype(float).rank(method="min", ascending=ascending)
        per[f"{column}_score"] = np.minimum(5, 1 + ((rank - 1) / max(len(per) - 1, 1) * 5).astype(int))
    return time.perf_counter() - started, len(per)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="reuse an already seeded bench database")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server (the benchmark creates <name>_rfm_bench there)")
    bench_url, admin_url, bench_name = _bench_url(url)
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as admin_conn:
        exists = admin_conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone()
        if not exists:
            admin_conn.execute(f'CREATE DATABASE "{bench_name}"')
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import CustomerSegmentSnapshot
    from catalog.services_customers import rfm_recompute, segment_summary

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database {bench_name}: migrated in {time.perf_counter() - started:.1f} s")
    if not args.reuse:
        started = time.perf_counter()
        n_orders = seed(args.customers)
        print(
            f"seeded {args.customers:,} customers, {n_orders:,} orders with COPY in {time.perf_counter() - started:.1f} s"
        )
    with connection.cursor() as cursor:  # the first run inserts a new date (as a nightly run does)
        cursor.execute("DELETE FROM catalog_customersegmentsnapshot WHERE as_of = %s", [AS_OF])
        cursor.execute("VACUUM catalog_customersegmentsnapshot")
    timings = []
    for _ in range(args.repeat):
        cpu_before, load_before = backend_cpu_seconds(), os.getloadavg()[0]
        started = time.perf_counter()
        scored = rfm_recompute(as_of=AS_OF)
        seconds = time.perf_counter() - started
        cpu_after = backend_cpu_seconds()
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        timings.append((seconds, cpu, (load_before + os.getloadavg()[0]) / 2))
    cpu_before, started = time.process_time(), time.perf_counter()
    baseline_seconds, baseline_customers = pandas_baseline()
    baseline_cpu = time.process_time() - cpu_before
    print(f"\n{'method':<52}{'customers':>11}{'wall s':>8}{'CPU s':>7}{'load':>6}")
    for i, (seconds, cpu, load) in enumerate(timings, start=1):
        label = f"SQL rfm_recompute #{i} ({'new date' if i == 1 else 'replace'}; Postgres CPU)"
        shown = f"{cpu:>7.1f}" if cpu is not None else f"{'n/a':>7}"
        print(f"{label:<52}{scored:>11,}{seconds:>8.1f}{shown}{load:>6.1f}")
    print(
        f"{'baseline: orders into pandas, no write (Python CPU)':<52}{baseline_customers:>11,}"
        f"{baseline_seconds:>8.1f}{baseline_cpu:>7.1f}{os.getloadavg()[0]:>6.1f}"
    )
    timings = [seconds for seconds, _cpu, _load in timings]
    best = min(timings)
    verdict = ("PASS" if best <= 60 else "FAIL") if args.customers >= 1_000_000 else "n/a (fewer than 1M customers)"
    print(
        f"\ntarget <= 60 s for 1M customers: {verdict} (best {best:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    summary = segment_summary(as_of=AS_OF)
    print(summary[["segment", "customers", "share", "mean_spend"]].to_string(index=False))
    assert CustomerSegmentSnapshot.objects.filter(as_of=AS_OF).count() == scored
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

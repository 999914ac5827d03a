"""Order lines per second through ``POST /api/v1/orders/bulk/`` against baselines measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ecomops_api DATABASE_TEST_NAME=bench_ecomops_api \\
        .venv/bin/python benchmarks/api_ingest.py --data ../shared/data/olist

Runs in a throw-away database (Django's test database for the configured DATABASE_URL: created, used,
dropped). The orders, lines and payments come from the Olist sample when ``--data`` exists (customers,
products and sellers are loaded first, untimed), otherwise from a seeded synthetic set. Requests go
through the whole Django + DRF stack in-process (authentication, permissions, JSON parsing, validation,
rendering) but not through an HTTP server; the request bodies are encoded and the responses decoded outside
the timings (the client's work). Modes, each on its own copy of the orders (fresh external ids):

- ``bulk``: the endpoint, ``--batch`` orders per request (new orders: COPY into the three tables);
- ``bulk replay``: the same requests again (every row ``unchanged``: look-up and compare);
- ``bulk + Idempotency-Key``: new orders, each request with a key (one transaction per request);
- baseline ``one order per request``: the endpoint with one order per request;
- baseline ``ORM row by row``: ``Order.objects.create`` + a save per line and payment, no API at all.

Target: at least 5,000 order lines per second for ``bulk`` on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")
os.environ.setdefault("THROTTLE_USER", "100000000/hour")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from catalog.models import Customer, Product, Seller  # noqa: E402
from orders.models import Order, OrderLine, Payment  # noqa: E402

TARGET_LINES_PER_SECOND = 5000


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def olist_rows(folder: Path, limit: int | None) -> tuple[list[dict], dict]:
    """Bulk payload rows from the Olist CSVs, and the customers/products/sellers they need."""
    customers = {row["customer_id"]: row for row in read_csv(folder / "olist_customers_dataset.csv")}
    items: dict[str, list[dict]] = {}
    for row in read_csv(folder / "olist_order_items_dataset.csv"):
        items.setdefault(row["order_id"], []).append(row)
    payments: dict[str, list[dict]] = {}
    for row in read_csv(folder / "olist_order_payments_dataset.csv"):
        payments.setdefault(row["order_id"], []).append(row)
    rows, refs = [], {"customers": {}, "products": set(), "sellers": set()}
    for order in read_csv(folder / "olist_orders_dataset.csv"):
        customer = customers.get(order["customer_id"])
        if customer is None:
            continue
        refs["customers"][customer["customer_unique_id"]] = customer
        lines = []
        for item in sorted(items.get(order["order_id"], []), key=lambda i: int(i["order_item_id"])):
            refs["products"].add(item["product_id"])
            refs["sellers"].add(item["seller_id"])
            lines.append(
                {
                    "line_number": int(item["order_item_id"]),
                    "sku": item["product_id"],
                    "seller": item["seller_id"],
                    "unit_price": item["price"],
                    "freight": item["freight_value"],
                    "shipping_limit_at": item["shipping_limit_date"] or None,
                }
            )
        rows.append(
            {
                "external_id": order["order_id"],
                "customer": customer["customer_unique_id"],
                "customer_ref": order["customer_id"],
                "status": order["order_status"],
                "purchased_at": order["order_purchase_timestamp"],
                "approved_at": order["order_approved_at"] or None,
                "handed_to_carrier_at": order["order_delivered_carrier_date"] or None,
                "delivered_at": order["order_delivered_customer_date"] or None,
                "promised_delivery_date": (order["order_estimated_delivery_date"] or "")[:10] or None,
                "shipping_zip_prefix": customer["customer_zip_code_prefix"],
                "shipping_city": customer["customer_city"][:128],
                "shipping_state": customer["customer_state"],
                "lines": lines,
                "payments": [
                    {
                        "sequential": int(p["payment_sequential"]),
                        "type": p["payment_type"],
                        "installments": int(p["payment_installments"]),
                        "value": p["payment_value"],
                    }
                    for p in payments.get(order["order_id"], [])
                ],
            }
        )
        if limit and len(rows) >= limit:
            break
    return rows, refs


def synthetic_rows(count: int, seed: int = 7) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    refs = {
        "customers": {f"C{i}": {"customer_zip_code_prefix": "01001"} for i in range(count // 2 + 1)},
        "products": {f"P{i}" for i in range(500)},
        "sellers": {f"S{i}" for i in range(50)},
    }
    start = datetime(2018, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        lines = [
            {
                "sku": f"P{rng.randrange(500)}",
                "seller": f"S{rng.randrange(50)}",
                "quantity": rng.randint(1, 3),
                "unit_price": f"{rng.uniform(5, 200):.2f}",
                "freight": f"{rng.uniform(0, 30):.2f}",
            }
            for _ in range(rng.choice([1, 1, 1, 2, 3]))
        ]
        rows.append(
            {
                "external_id": f"O{i}",
                "customer": f"C{rng.randrange(count // 2 + 1)}",
                "status": "delivered",
                "purchased_at": (start + timedelta(minutes=i)).isoformat(),
                "lines": lines,
                "payments": [{"type": "credit_card", "installments": 1, "value": "10.00"}],
            }
        )
    return rows, refs


def load_references(refs: dict) -> None:
    Seller.objects.bulk_create([Seller(external_id=s) for s in sorted(refs["sellers"])], ignore_conflicts=True)
    Product.objects.bulk_create([Product(sku=p) for p in sorted(refs["products"])], ignore_conflicts=True)
    Customer.objects.bulk_create(
        [
            Customer(external_id=key, zip_prefix=(row.get("customer_zip_code_prefix") or "")[:8])
            for key, row in refs["customers"].items()
        ],
        ignore_conflicts=True,
    )


def with_prefix(rows: list[dict], prefix: str) -> list[dict]:
    return [{**row, "external_id": f"{prefix}{row['external_id']}"[:64]} for row in rows]


def count_lines(rows: list[dict]) -> int:
    return sum(len(row["lines"]) for row in rows)


def server_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend process (NaN when not measurable:
    another database, or a server on another machine). Background processes (WAL writer, autovacuum) are
    not included."""
    if connection.vendor != "postgresql":
        return float("nan")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def post_batches(
    client: APIClient, rows: list[dict], batch: int, *, keyed: str = ""
) -> tuple[float, float, dict, float]:
    """Post the rows in batches; wall and CPU seconds cover the server side of the requests only.

    The bodies are encoded before the clock starts and the responses decoded after it stops: a real client
    does that on its own machine, and in-process it would be charged to the server.
    """
    bodies = [
        (start, json.dumps(rows[start : start + batch], separators=(",", ":"))) for start in range(0, len(rows), batch)
    ]
    responses = []
    db_started = server_cpu()
    started, cpu_started = time.perf_counter(), time.process_time()
    for start, body in bodies:
        headers = {"HTTP_IDEMPOTENCY_KEY": f"{keyed}-{start}"} if keyed else {}
        responses.append(client.post("/api/v1/orders/bulk/", body, content_type="application/json", **headers))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    db_cpu = server_cpu() - db_started
    statuses: dict[str, int] = {}
    for response in responses:
        if response.status_code not in (200, 207):
            raise SystemExit(f"bulk request failed: {response.status_code} {response.content[:500]!r}")
        for result in json.loads(response.content):
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    return wall, cpu, statuses, db_cpu


def orm_row_by_row(rows: list[dict]) -> tuple[float, float]:
    customers = {c.external_id: c for c in Customer.objects.all()}
    products = {p.sku: p for p in Product.objects.all()}
    sellers = {s.external_id: s for s in Seller.objects.all()}
    started, cpu_started = time.perf_counter(), time.process_time()
    for row in rows:
        order = Order.objects.create(
            external_id=row["external_id"],
            customer=customers[row["customer"]],
            status=row["status"],
            purchased_at=datetime.fromisoformat(row["purchased_at"]).replace(tzinfo=UTC)
            if "+" not in row["purchased_at"]
            else datetime.fromisoformat(row["purchased_at"]),
        )
        for number, line in enumerate(row["lines"], start=1):
            OrderLine.objects.create(
                order=order,
                line_number=line.get("line_number", number),
                product=products[line["sku"]],
                seller=sellers.get(line.get("seller")),
                quantity=line.get("quantity", 1),
                unit_price=Decimal(line["unit_price"]),
                freight=Decimal(line.get("freight", "0")),
            )
        for number, payment in enumerate(row["payments"], start=1):
            Payment.objects.create(
                order=order,
                sequential=payment.get("sequential", number),
                type=payment["type"],
                installments=payment["installments"],
                value=Decimal(payment["value"]),
            )
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/olist")
    parser.add_argument("--orders", type=int, default=0, help="Limit the number of orders (0: all of Olist / 6000).")
    parser.add_argument("--batch", type=int, default=1000, help="Orders per bulk request.")
    parser.add_argument("--baseline-orders", type=int, default=500, help="Orders for the slow baselines.")
    parser.add_argument("--keepdb", action="store_true", help="Reuse the benchmark database.")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    try:
        if (args.data / "olist_orders_dataset.csv").exists():
            rows, refs = olist_rows(args.data, args.orders or None)
            source = f"Olist sample ({args.data})"
        else:
            rows, refs = synthetic_rows(args.orders or 6000)
            source = "synthetic (seeded; --data not found)"
        load_references(refs)
        user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders"))
        client = APIClient()
        client.force_authenticate(user)

        # Warm up (URLconf import, first connection) outside the timings.
        post_batches(client, with_prefix(rows[:5], "warm-"), 5)

        results = []
        runs = [
            ("bulk (new orders)", with_prefix(rows, "b-"), args.batch, ""),
            ("bulk replay (all unchanged)", with_prefix(rows, "b-"), args.batch, ""),
            ("bulk + Idempotency-Key", with_prefix(rows, "k-"), args.batch, "bench"),
            ("baseline: one order per request", with_prefix(rows[: args.baseline_orders], "s-"), 1, ""),
        ]
        for name, mode_rows, batch, keyed in runs:
            seconds, cpu, statuses, db_cpu = post_batches(client, mode_rows, batch, keyed=keyed)
            results.append((name, len(mode_rows), count_lines(mode_rows), seconds, cpu, db_cpu, statuses))
        orm_rows = with_prefix(rows[: args.baseline_orders], "o-")
        db_started = server_cpu()
        seconds, cpu = orm_row_by_row(orm_rows)
        db_cpu = server_cpu() - db_started
        results.append(("baseline: ORM row by row", len(orm_rows), count_lines(orm_rows), seconds, cpu, db_cpu, {}))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=args.keepdb)

    print(f"\nBulk order ingestion through the REST API — {connection.vendor}, {source}, test db {test_name}")
    print(f"batch {args.batch} orders per request; target >= {TARGET_LINES_PER_SECOND:,} lines/s for 'bulk'\n")
    header = (
        f"{'mode':34} {'orders':>7} {'lines':>7} {'wall s':>7} {'lines/s':>8} {'CPU s':>6} {'DB CPU s':>8} "
        f"{'lines/CPU s':>11}  statuses"
    )
    print(header)
    print("-" * len(header))
    for name, orders, lines, seconds, cpu, db_cpu, statuses in results:
        status_text = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        print(
            f"{name:34} {orders:7d} {lines:7d} {seconds:7.2f} {lines / seconds:8.0f} {cpu:6.2f} {db_cpu:8.2f} "
            f"{lines / max(cpu + (0 if db_cpu != db_cpu else db_cpu), 1e-9):11.0f}  {status_text}"
        )
    _, _, lines, seconds, cpu, db_cpu, _ = results[0]
    bulk_rate = lines / seconds
    verdict = "meets" if bulk_rate >= TARGET_LINES_PER_SECOND else "MISSES"
    print(f"\nbulk: {bulk_rate:,.0f} lines/s wall-clock, {verdict} the {TARGET_LINES_PER_SECOND:,} lines/s target")
    if db_cpu == db_cpu:  # measured
        print(
            f"bulk on an otherwise idle machine (client and server CPU, one after the other): about "
            f"{lines / (cpu + db_cpu):,.0f} lines/s"
        )
    print("(CPU s: this process, i.e. Django + DRF; DB CPU s: its PostgreSQL backend process; lines/CPU s: per")
    print(" second of both. On a busy machine the wall time also holds the time spent waiting for a CPU.)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Load test on loopback: a real gunicorn process on Postgres, N concurrent API users, mixed reads and writes.

    python benchmarks/load.py [--seconds 300] [--users 50] [--think-time 1.0]
                              [--database-url postgres://postgres@127.0.0.1:5432/ecomops_load]

Creates (or reuses) the database, migrates, seeds products and stock, starts gunicorn, runs the users for the
given time, then checks the invariants (every stock level equals the sum of its ledger movements,
0 <= reserved <= on hand) and prints a table: p50 / p95 / p99 latency of reads and writes, error rate,
throughput, against the targets (reads p95 < 100 ms, errors < 0.1 %).

A user is a person at a screen or an integration polling: after each response it pauses for a think time drawn
uniformly from 0.5x-1.5x ``--think-time`` seconds (locust's usual user model), so 50 users offer about 50
requests per second. ``--think-time 0`` turns every user into a closed loop that fires as fast as the server
answers: that measures saturation throughput, and its latency is mostly queueing (Little's law), not service.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

SEED = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from catalog.models import Product
from inventory.models import Location
from inventory.services import stock_receive
User = get_user_model()
user, _ = User.objects.get_or_create(username="load")
user.user_permissions.set(Permission.objects.all())
token, _ = Token.objects.get_or_create(user=user)
locations = [Location.objects.get_or_create(code=f"LOAD-{i}")[0] for i in range(2)]
for i in range(100):
    product, created = Product.objects.get_or_create(sku=f"LOAD-{i:03d}", defaults={"name": f"Load product {i}"})
    if created:
        for location in locations:
            stock_receive(product=product, location=location, quantity=1_000_000, key=f"load-seed-{i}-{location.pk}")
print(token.key)
print(",".join(str(p) for p in Product.objects.filter(sku__startswith="LOAD-").values_list("pk", flat=True)))
print(",".join(str(loc.pk) for loc in locations))
"""

CHECK = """
from django.db.models import Sum, Q, F
from inventory.models import StockLevel, StockMovement
bad = 0
sums = {(r["product_id"], r["location_id"]): (r["h"], r["r"]) for r in StockMovement.objects.values("product_id", "location_id").annotate(h=Sum("on_hand_delta"), r=Sum("reserved_delta"))}
for level in StockLevel.objects.all():
    if sums.get((level.product_id, level.location_id), (0, 0)) != (level.on_hand, level.reserved):
        bad += 1
bounds = StockLevel.objects.filter(Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))).count()
print(bad, bounds, StockMovement.objects.count())
"""


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args[:1])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    base = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


class User(threading.Thread):
    def __init__(self, port, token, products, locations, deadline, results, lock, think_time):
        super().__init__(daemon=True)
        self.port, self.token, self.products, self.locations = port, token, products, locations
        self.deadline, self.results, self.lock = deadline, results, lock
        self.think_time = think_time
        self.rng = random.Random()

    def think(self):
        if self.think_time > 0:
            time.sleep(min(self.think_time * self.rng.uniform(0.5, 1.5), max(0.0, self.deadline - time.monotonic())))

    def request(self, conn, method, path, body=None):
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 599
            conn.close()
        return status, (time.perf_counter() - start) * 1000

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        local = {"read": [], "write": [], "errors": 0, "requests": 0}
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            product = self.rng.choice(self.products)
            if roll < 0.7:
                name, path = self.rng.choice(
                    [
                        ("products list", "/api/v1/products/?limit=20"),
                        ("product detail", f"/api/v1/products/{product}/"),
                        ("stock levels of a product", f"/api/v1/stock-levels/?product={product}"),
                        ("stock movements list", "/api/v1/stock-movements/?limit=20"),
                        ("orders list", "/api/v1/orders/?limit=20"),
                    ]
                )
                self.think()
                status, ms = self.request(conn, "GET", path)
                local["read"].append(ms)
                local.setdefault(name, []).append(ms)
            else:
                location = self.rng.choice(self.locations)
                key = secrets.token_hex(8)
                body = {
                    "product": product,
                    "location": location,
                    "reserved_delta": 1,
                    "reason": "reservation",
                    "idempotency_key": f"load-{key}-r",
                }
                self.think()
                status, ms = self.request(conn, "POST", "/api/v1/stock-movements/", body)
                local["write"].append(ms)
                if status < 400:
                    self.think()
                    body.update(reserved_delta=-1, reason="release", idempotency_key=f"load-{key}-x")
                    status2, ms2 = self.request(conn, "POST", "/api/v1/stock-movements/", body)
                    local["write"].append(ms2)
                    local["requests"] += 1
                    local["errors"] += status2 >= 500 or status2 == 599 or status2 >= 400
            local["requests"] += 1
            local["errors"] += status >= 400
        with self.lock:
            for k, values in local.items():
                if isinstance(values, list):
                    self.results.setdefault(k, []).extend(values)
            self.results["errors"] += local["errors"]
            self.results["requests"] += local["requests"]


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--think-time", type=float, default=1.0, help="mean pause of a user between requests, seconds (0: closed loop)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ecomops_load")
    args = parser.parse_args()

    ensure_database(args.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "THROTTLE_USER": "100000000/hour",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    token, products, locations = manage(env, "shell", "-c", SEED).strip().splitlines()[-3:]
    products = [int(p) for p in products.split(",")]
    locations = [int(loc) for loc in locations.split(",")]

    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "ecomops.wsgi",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        # Warm up: every worker has booted (imports done) before the clock starts.
        warm_until = time.monotonic() + 180
        ready = 0
        while ready < 4 * args.workers and time.monotonic() < warm_until:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
                conn.request("GET", "/api/v1/products/?limit=1", headers={"Authorization": f"Token {token}"})
                ready += conn.getresponse().status == 200
                conn.close()
            except OSError:
                time.sleep(0.5)
        results, lock = {"read": [], "write": [], "errors": 0, "requests": 0}, threading.Lock()
        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        users = [
            User(args.port, token, products, locations, deadline, results, lock, args.think_time)
            for _ in range(args.users)
        ]
        for user in users:
            user.start()
        for user in users:
            user.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad, out_of_bounds, movements = (int(x) for x in manage(env, "shell", "-c", CHECK).splitlines()[-1].split())

    error_rate = results["errors"] / max(1, results["requests"])
    rows = [
        ("users", f"{args.users}", ""),
        ("think time (s)", f"{args.think_time:g}", ""),
        ("duration (s)", f"{elapsed:.0f}", ""),
        ("requests", f"{results['requests']}", ""),
        ("throughput (req/s)", f"{results['requests'] / elapsed:.0f}", ""),
        ("read p50 (ms)", f"{pct(results['read'], 50):.1f}", ""),
        ("read p95 (ms)", f"{pct(results['read'], 95):.1f}", "< 100"),
        ("read p99 (ms)", f"{pct(results['read'], 99):.1f}", ""),
        ("write p95 (ms)", f"{pct(results['write'], 95):.1f}", ""),
        ("mean read (ms)", f"{statistics.fmean(results['read']) if results['read'] else float('nan'):.1f}", ""),
        ("error rate", f"{error_rate:.4%}", "< 0.1 %"),
        *(
            (f"  p95 {name} (ms)", f"{pct(values, 95):.1f}", "")
            for name, values in sorted(results.items())
            if isinstance(values, list) and name not in ("read", "write")
        ),
        ("levels != ledger", f"{bad}", "0"),
        ("reserved out of bounds", f"{out_of_bounds}", "0"),
        ("ledger movements", f"{movements}", ""),
    ]
    print(f"{'metric':<24} {'value':>12} {'target':>10}")
    for name, value, target in rows:
        print(f"{name:<24} {value:>12} {target:>10}")


if __name__ == "__main__":
    main()

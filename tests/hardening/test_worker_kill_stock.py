"""A Celery worker killed with SIGKILL in the middle of a stock-changing job loses no movement and duplicates none.

The job is ``allocate:orders`` (``inventory/jobs.py``): it allocates approved orders one transaction each,
reserving stock through the ledger with idempotency keys. A real worker (Redis broker, the PostgreSQL test
database) runs it with the test-only hooks of ``stock_worker_hooks`` (a pause after each reservation and a
file that tells which reservation was just written, uncommitted). The test kills the worker with SIGKILL
while an order's transaction is open, then lets redelivery finish the job (``acks_late`` and
``reject_on_worker_lost``), and checks the ledger: on hand and reserved equal the sums of the movements, each
idempotency key is written once, every order is allocated exactly once, the impossible order not at all.

Two ways to die: the pool process running the task (the worker's main process requeues the message at once)
and the whole worker (main and pool processes: the message stays unacknowledged in Redis and a new worker
restores it after the visibility timeout, shortened to seconds for the test).

Skipped unless REDIS_URL is set and the database is PostgreSQL (CI's Postgres + Redis pass runs it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from ecomops.models import JobRun
from inventory.models import Allocation, StockLevel, StockMovement
from inventory.services import stock_receive
from orders.models import Order
from tests.ecomops.workers import real_workers_unavailable, wait
from tests.factories import CustomerFactory, LocationFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.logistics.factories import ZipAreaFactory

pytestmark = [pytest.mark.real_worker, pytest.mark.slow]

ROOT = Path(settings.BASE_DIR)
RESERVE_DELAY = 1.0  # seconds after each reservation: the kill lands well inside an order's transaction
N_ORDERS = 5


def _start_worker(tmp_path: Path, name: str, **extra_env: str) -> tuple[subprocess.Popen, Path]:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PYTHONPATH": str(ROOT),
        **extra_env,
    }
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "default", "-c", "1", "-P", "prefork",
            "-l", "info", "-I", "tests.hardening.stock_worker_hooks", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-n", f"{name}@%h",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    wait(lambda: "ready." in log.read_text() or process.poll() is not None, 90, f"worker {name} to start ({log})")
    assert process.poll() is None, log.read_text()
    return process, log


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _pool_pids(main_pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(main_pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A killed child of our own process stays a zombie until reaped: it is dead all the same.
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{pid}").exists() else ""
    return state in {"Z", "X", ""}


@pytest.fixture
def broker():
    """The Redis broker with no message left from earlier runs (queued or unacknowledged)."""
    if reason := real_workers_unavailable():
        pytest.skip(reason)
    from ecomops.celery import app

    app.control.purge()
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete("unacked", "unacked_index", "unacked_mutex")
    return app


@pytest.fixture
def store(transactional_db):
    """One warehouse; products A and B with 100 units each, C with 2; five orders of A+B and one of 5 x C."""
    ZipAreaFactory(prefix="20000", latitude=-22.90, longitude=-43.17, state="RJ")
    location = LocationFactory(code="RIO", latitude=-22.95, longitude=-43.20)
    customer = CustomerFactory(zip_prefix="20000", state="RJ")
    a, b, c = ProductFactory(sku="A"), ProductFactory(sku="B"), ProductFactory(sku="C")
    for product, quantity in ((a, 100), (b, 100), (c, 2)):
        stock_receive(product=product, location=location, quantity=quantity, key=f"rcv:{product.sku}")
    start = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
    orders = []
    for i in range(1, N_ORDERS + 1):
        order = OrderFactory(external_id=f"o{i}", customer=customer, purchased_at=start + timedelta(hours=i))
        OrderLineFactory(order=order, line_number=1, product=a, quantity=i)
        OrderLineFactory(order=order, line_number=2, product=b, quantity=1)
        orders.append(order)
    # Not enough C anywhere: fails on every attempt and must reserve nothing.
    impossible = OrderFactory(external_id="o-short", customer=customer, purchased_at=start + timedelta(hours=9))
    OrderLineFactory(order=impossible, line_number=1, product=c, quantity=5)
    return location, (a, b, c), orders


def _reserved_lines(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(order, int(line)) for order, line in (row.split() for row in log.read_text().splitlines() if row)]


def _allocate_and_kill(broker, store, tmp_path, *, whole_worker: bool):
    from ecomops.jobs import job_start

    location, (a, b, c), orders = store
    reserve_log = tmp_path / "reserved.txt"
    first, first_log = _start_worker(
        tmp_path,
        "doomed",
        ECOMOPS_TEST_RESERVE_LOG=str(reserve_log),
        ECOMOPS_TEST_RESERVE_DELAY=str(RESERVE_DELAY),
    )
    replacement = None
    try:
        job = job_start(kind="allocate:orders", requested_via="test")  # autocommit: queued at once
        # Orders o1 and o2 are committed; o3's first line is reserved and its transaction is open.
        wait(lambda: any(order == "o3" for order, _ in _reserved_lines(reserve_log)), 90, "order o3 to be half way")
        running = JobRun.objects.get(pk=job.pk)
        pool = _pool_pids(first.pid)
        assert int(running.worker.rpartition(":")[2]) in pool
        if whole_worker:
            os.killpg(first.pid, signal.SIGKILL)  # the main process and its pool die at once
            first.wait(10)
            wait(lambda: all(_gone(pid) for pid in pool), 10, "the pool processes to die")
        else:
            os.kill(int(running.worker.rpartition(":")[2]), signal.SIGKILL)  # only the process running the job
        seen_by_doomed = _reserved_lines(reserve_log)
        if whole_worker:
            # Nothing of o3 survived the kill: its reservation rolled back with the connection.
            o3 = Allocation.objects.filter(order_line__order__external_id="o3")
            assert not o3.exists()
            assert set(Allocation.objects.values_list("order_line__order__external_id", flat=True).distinct()) == {
                "o1",
                "o2",
            }
            assert JobRun.objects.get(pk=job.pk).state == "running"  # until someone takes it over
            replacement, _ = _start_worker(tmp_path, "replacement", ECOMOPS_TEST_VISIBILITY_TIMEOUT="3")
        wait(lambda: JobRun.objects.get(pk=job.pk).is_finished, 120, f"job {job.pk} to finish after the kill")
        return JobRun.objects.get(pk=job.pk), running, seen_by_doomed
    finally:
        _stop(first)
        if replacement is not None:
            _stop(replacement)
        print(first_log.read_text()[-3000:])


@pytest.mark.parametrize("whole_worker", [True, False], ids=["whole-worker", "pool-process"])
def test_worker_killed_mid_allocation_loses_and_duplicates_no_movement(broker, store, tmp_path, whole_worker):
    location, (a, b, c), orders = store
    job, before_kill, seen_by_doomed = _allocate_and_kill(broker, store, tmp_path, whole_worker=whole_worker)

    # The kill really happened inside o3's transaction, after o1 and o2 had committed.
    assert [order for order, _ in seen_by_doomed] == ["o1", "o1", "o2", "o2", "o3"]
    assert (job.state, job.attempts) == ("succeeded", 2), job.log
    assert f"worker {before_kill.worker} lost; retrying as attempt 2" in job.log
    assert job.worker != before_kill.worker
    # The second attempt found o1 and o2 allocated and did the rest; o-short fails on every attempt.
    assert job.result == {"allocated": N_ORDERS - 2, "failed": 1}

    # Every order allocated exactly once, each line from the warehouse, the short order not at all.
    allocations = Counter(Allocation.objects.values_list("order_line__order__external_id", "order_line__line_number"))
    assert allocations == Counter({(f"o{i}", n): 1 for i in range(1, N_ORDERS + 1) for n in (1, 2)})
    assert not Allocation.objects.filter(order_line__order__external_id="o-short").exists()
    assert set(Order.objects.values_list("status", flat=True)) == {"approved"}

    # Each idempotency key once: the receipts and one reservation per order line, nothing else.
    movements = list(StockMovement.objects.values_list("idempotency_key", "reason", "reserved_delta"))
    keys = Counter(key for key, _, _ in movements)
    assert set(keys.values()) == {1}
    line_keys = {f"allocate:{pk}:{location.pk}" for pk in Allocation.objects.values_list("order_line_id", flat=True)}
    assert set(keys) == {"rcv:A", "rcv:B", "rcv:C"} | line_keys
    assert len(line_keys) == 2 * N_ORDERS

    # Levels equal the sum of their movements, and the expected figures.
    for level in StockLevel.objects.all():
        sums = StockMovement.objects.filter(product=level.product, location=level.location).aggregate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
        assert (level.on_hand, level.reserved) == (sums["on_hand"], sums["reserved"]), level
    levels = {lv.product.sku: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.select_related("product")}
    assert levels == {"A": (100, sum(range(1, N_ORDERS + 1))), "B": (100, N_ORDERS), "C": (2, 0)}


@pytest.mark.django_db
def test_allocate_orders_job_in_process_allocates_each_order_once():
    """The same job kind without a broker: a second run finds nothing left to allocate."""
    from ecomops.jobs import job_create, job_run

    ZipAreaFactory(prefix="20000", latitude=-22.90, longitude=-43.17, state="RJ")
    location = LocationFactory(code="RIO", latitude=-22.95, longitude=-43.20)
    product = ProductFactory(sku="A")
    stock_receive(product=product, location=location, quantity=3, key="rcv:A")
    for i, quantity in enumerate((2, 1, 1), start=1):  # the third order finds nothing left
        order = OrderFactory(external_id=f"o{i}", purchased_at=datetime(2018, 3, i, tzinfo=UTC))
        OrderLineFactory(order=order, line_number=1, product=product, quantity=quantity)
    first = job_run(job_id=job_create(kind="allocate:orders", parameters={"limit": 10}).pk)
    assert (first.state, first.result) == ("succeeded", {"allocated": 2, "failed": 1}), first.error
    assert "order o3" in first.log
    again = job_run(job_id=job_create(kind="allocate:orders").pk)
    assert again.result == {"allocated": 0, "failed": 1}
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (3, 3)
    assert StockMovement.objects.filter(reason="reservation").count() == 2
    bad = job_run(job_id=job_create(kind="allocate:orders", parameters={"limit": "many"}).pk)
    assert (bad.state, bad.error) == ("failed", "ValueError: limit: not a whole number of orders: 'many'")

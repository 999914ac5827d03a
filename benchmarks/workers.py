"""Scale-out benchmark on a production job: ``train:customers`` (RFM snapshot, BG/NBD + Gamma-Gamma fitted
once, then CLV / churn scoring fanned out in chunks of customers, gathered into one version) on N seeded
synthetic customers, run in-process (eager) and on 1 and 2 real Celery worker processes over Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ecomops_x REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python benchmarks/workers.py --customers 200000 --workers 1 2

It creates (or reuses) the database ``<name>_workers_bench`` on that server, migrates it and seeds it with
COPY (the generator of ``rfm_scale.py``, seed 42: ~2.6 orders per customer over 2017-2018). "N workers" means
N separate ``celery -A ecomops worker -Q ml -c 1`` processes (what N machines would run). Before each run the
scores table is emptied so every run inserts the same rows. The table shows wall time from ``job_start`` to
``succeeded``, how long the serial train step took (RFM snapshot + fit, until the chunks are queued), the CPU
seconds of the worker processes (of this process for eager; PostgreSQL's own CPU is not included), and the
speed-up against one worker process, with the load average: the figures are only comparable on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
AS_OF = "2018-12-31"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _bench_url(url: str) -> tuple[str, str, str]:
    parsed = urlparse(url)
    bench = f"{parsed.path.lstrip('/') or 'postgres'}_workers_bench"
    return urlunparse(parsed._replace(path=f"/{bench}")), urlunparse(parsed._replace(path="/postgres")), bench


def _session_cpu_seconds(session_id: int) -> float:
    """CPU seconds (user + system) of the live processes in a session: a worker and its pool children."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:  # fields after the name: state, ppid, pgrp, session, ...
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def _start_worker(index: int, env: dict, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "ml", "-c", "1", "-P", "prefork",
            "-l", "info", "-I", "catalog.services_customers,catalog.ml.clv", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--prefetch-multiplier", "1", "-n", f"bench{index}@%h",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker {index} did not start; see {log}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _run_job(chunk_size: int, timeout: float):
    from django.db import connection

    from ecomops.jobs import job_start
    from ecomops.models import JobRun

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE catalog_customerscore")  # every run inserts the same rows
    started = time.perf_counter()
    job = job_start(
        kind="train:customers", parameters={"as_of": AS_OF, "chunk_size": chunk_size}, requested_via="benchmark"
    )
    fanned_out = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, chunks_total = JobRun.objects.values_list("state", "chunks_total").get(pk=job.pk)
        if fanned_out is None and chunks_total:
            fanned_out = time.perf_counter() - started
        if state in (JobRun.State.SUCCEEDED, JobRun.State.FAILED, JobRun.State.CANCELED):
            job.refresh_from_db()
            return time.perf_counter() - started, fanned_out, job, os.getloadavg()[0]
        time.sleep(0.05)
    raise SystemExit(f"job {job.pk} did not finish within {timeout}s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker process counts to time")
    parser.add_argument("--chunk-size", type=int, default=None, help="customers per chunk (default: customers/8)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-eager", action="store_true", help="skip the in-process baseline")
    parser.add_argument("--reseed", action="store_true", help="seed again even if the customer count matches")
    parser.add_argument("--log-dir", default=str(ROOT / "var" / "bench-workers"))
    args = parser.parse_args(argv)
    url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not url.startswith("postgres") or not redis_url:
        parser.error("set DATABASE_URL (PostgreSQL) and REDIS_URL: real workers share the database over Redis")
    bench_url, admin_url, bench_name = _bench_url(url)
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone():
            admin.execute(f'CREATE DATABASE "{bench_name}"')
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import Customer
    from ecomops.celery import app

    call_command("migrate", verbosity=0)
    if args.reseed or Customer.objects.count() != args.customers:
        from rfm_scale import seed

        started = time.perf_counter()
        orders = seed(args.customers)
        print(f"seeded {args.customers:,} customers, {orders:,} orders in {time.perf_counter() - started:.1f} s")
    chunk_size = args.chunk_size or max(1, -(-args.customers // 8))
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.no_eager:
        app.conf.task_always_eager = True
        for _ in range(args.repeats):
            cpu = time.process_time()
            seconds, fanned_out, job, load = _run_job(chunk_size, timeout=3600)
            rows.append(("in-process (eager)", 0, seconds, fanned_out, time.process_time() - cpu, job, load))
    app.conf.task_always_eager = False
    app.control.purge()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(ROOT)
    for count in args.workers:
        workers = [_start_worker(i, env, log_dir / f"worker-{count}-{i}.log") for i in range(count)]
        try:
            for _ in range(args.repeats):
                before = sum(_session_cpu_seconds(w.pid) for w in workers)
                seconds, fanned_out, job, load = _run_job(chunk_size, timeout=3600)
                cpu = sum(_session_cpu_seconds(w.pid) for w in workers) - before
                label = f"{count} worker process{'es' if count > 1 else ''}"
                rows.append((label, count, seconds, fanned_out, cpu, job, load))
        finally:
            for worker in workers:
                _stop(worker)

    one = [s for _label, n, s, *_ in rows if n == 1]
    print(
        f"\ntrain:customers on {args.customers:,} synthetic customers as of {AS_OF}, chunks of {chunk_size:,} "
        f"({-(-args.customers // chunk_size)} chunks); {os.cpu_count()} CPUs, PostgreSQL, Redis"
    )
    print(
        f"{'mode':<24}{'wall s':>8}{'train step s':>14}{'worker CPU s':>14}{'vs 1 worker':>13}"
        f"{'state':>11}{'chunks':>8}{'scored':>9}{'load avg':>10}"
    )
    for label, _n, seconds, fanned_out, cpu, job, load in rows:
        speedup = f"{min(one) / seconds:>12.2f}x" if one else f"{'':>13}"
        train = f"{fanned_out:>14.1f}" if fanned_out is not None else f"{'-':>14}"
        print(
            f"{label:<24}{seconds:>8.1f}{train}{cpu:>14.1f}{speedup}{job.state:>11}"
            f"{job.chunks_done:>4}/{job.chunks_total:<3}{job.result.get('scored', 0):>9,}{load:>10.1f}"
        )
        if job.state != "succeeded":
            print(f"  {label}: {job.error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scale-out benchmark: wall time of one chunked CPU job (per-series model fits fanned out with
``ecomops.fanout.job_fanout``) in-process (eager) and on 1 and 2 real Celery worker processes over Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ecomops_x REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python benchmarks/workers.py [--series 240] [--chunk-size 12] [--length 730]

The database must be migrated (the workers share it). Each series is a synthetic seasonal daily demand
history (seeded by its id); a chunk fits simple exponential smoothing per series by grid search of the
smoothing factor and returns its one-step MAE; the gather step registers one ``bench-series-ses`` version.
Baseline: the same job run in this process (eager, no broker). The table shows wall time from
``job_start`` to the job's ``succeeded`` state and the speed-up against one worker process.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from ecomops.fanout import ChunkContext, fanout_chunk, fanout_gather, job_fanout  # noqa: E402
from ecomops.jobs import JobContext, job_handler  # noqa: E402
from ecomops.models import JobRun  # noqa: E402
from ecomops.registry import ModelSpec, TrainedModel, model_version_register  # noqa: E402

SPEC = ModelSpec(name="bench-series-ses", primary_metric="mae", description="Benchmark of the fan-out path.")
ALPHAS = [round(a, 2) for a in np.arange(0.02, 1.0, 0.04)]


def _series(series_id: int, length: int) -> np.ndarray:
    rng = np.random.default_rng(series_id)
    t = np.arange(length)
    level = rng.uniform(5, 50)
    weekly = 1 + 0.3 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 6))
    return rng.poisson(level * weekly).astype(float)


def _ses_mae(y: np.ndarray, alpha: float) -> float:
    level, error = y[0], 0.0
    for value in y[1:]:  # plain Python on purpose: CPU-bound, GIL-bound work that only more processes speed up
        error += abs(value - level)
        level = alpha * value + (1 - alpha) * level
    return error / (len(y) - 1)


@fanout_chunk("bench:ses")
def bench_chunk(chunk: ChunkContext, items: list, context: dict) -> dict:
    maes = []
    for series_id in items:
        y = _series(int(series_id), int(context["length"]))
        maes.append(min(_ses_mae(y, alpha) for alpha in ALPHAS))
    return {"n": len(items), "mae_sum": float(sum(maes))}


@fanout_gather("bench:ses")
def bench_gather(ctx: JobContext, results: list, context: dict) -> dict:
    n = sum(r["n"] for r in results)
    mae = sum(r["mae_sum"] for r in results) / n
    version = model_version_register(
        spec=SPEC,
        trained=TrainedModel(algorithm="ses-grid", artifact={"alphas": ALPHAS}, metrics={"mae": mae}),
        job=ctx.job,
    )
    return {"series": n, "mae": round(mae, 4), "version": version.version}


@job_handler("bench:ses", queue="ml", time_limit=1800)
def bench_job(ctx: JobContext, params: dict):
    """Benchmark: per-series SES fits fanned out in chunks."""
    return job_fanout(
        ctx,
        items=list(range(int(params["series"]))),
        chunk_size=int(params["chunk_size"]),
        chunk=bench_chunk,
        gather=bench_gather,
        context={"length": int(params["length"])},
    )


def _run_job(params: dict, timeout: float) -> tuple[float, JobRun]:
    from ecomops.jobs import job_start

    started = time.perf_counter()
    job = job_start(kind="bench:ses", parameters=params, requested_via="benchmark")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return time.perf_counter() - started, job
        time.sleep(0.05)
    raise SystemExit(f"job {job.pk} did not finish within {timeout}s")


def _start_worker(processes: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "ml,default", "-c", str(processes),
            "-P", "prefork", "-l", "info", "-I", "benchmarks.workers", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-n", f"bench{processes}@%h", "--prefetch-multiplier", "1",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start; see {log}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=240)
    parser.add_argument("--chunk-size", type=int, default=12)
    parser.add_argument("--length", type=int, default=730, help="days of history per series")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--log-dir", default=str(ROOT / "var" / "bench-workers"))
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("needs REDIS_URL (and a shared DATABASE_URL): real workers talk to Redis")
    from django.db import connection

    if connection.vendor == "sqlite":
        print("note: SQLite database; worker processes share the file (PostgreSQL is the scaled-out setup)")
    from ecomops.celery import app

    params = {"series": args.series, "chunk_size": args.chunk_size, "length": args.length}
    chunks = -(-args.series // args.chunk_size)
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    rows = []

    app.conf.task_always_eager = True  # baseline: the same job in this one process
    for _ in range(args.repeats):
        seconds, job = _run_job(params, timeout=1800)
        rows.append(("in-process (eager)", 1, seconds, job))
    app.conf.task_always_eager = False
    app.control.purge()
    for processes in (1, 2):
        worker = _start_worker(processes, log_dir / f"worker-{processes}.log")
        try:
            _run_job({**params, "series": args.chunk_size}, timeout=300)  # warm-up: imports, connections
            for _ in range(args.repeats):
                seconds, job = _run_job(params, timeout=1800)
                rows.append((f"{processes} worker process{'es' if processes > 1 else ''}", processes, seconds, job))
        finally:
            _stop(worker)

    one_worker = min(s for label, p, s, _ in rows if p == 1 and "worker" in label)
    print(f"\nFan-out benchmark: {args.series} series x {args.length} days, {chunks} chunks of {args.chunk_size}")
    print(f"CPU cores visible: {os.cpu_count()}; database: {connection.vendor}; broker: Redis\n")
    print(f"{'mode':<24}{'wall s':>9}{'vs 1 worker':>13}{'state':>11}{'chunks':>8}{'MAE':>9}")
    for label, _processes, seconds, job in rows:
        print(
            f"{label:<24}{seconds:>9.2f}{one_worker / seconds:>12.2f}x{job.state:>11}"
            f"{job.chunks_done:>4}/{job.chunks_total:<3}{job.result.get('mae', float('nan')):>9.3f}"
        )


if __name__ == "__main__":
    main()

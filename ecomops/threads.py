"""Native thread pools (OpenMP, BLAS, torch) sized to a worker process's share of the cores.

scikit-learn's gradient boosting, numpy's BLAS and torch each start one thread per core in every process. A
prefork Celery worker runs ``concurrency`` processes, so two ML jobs on a 2-core node ran 4+ spinning threads
on 2 cores: the demand model's boosting fit on a 15x Olist copy took 5.7x as long (1,525 s against 268 s)
as it did alone. Each worker process gets ``cores // concurrency`` threads (at least 1) instead, unless the
operator sets ``ECOMOPS_NATIVE_THREADS`` (or the libraries' own variables) for the node.
"""

from __future__ import annotations

import os
import sys

THREADS_ENV = "ECOMOPS_NATIVE_THREADS"
# Read by the libraries when they load; those already loaded are limited through threadpoolctl.
LIBRARY_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_process(*, concurrency: int | None, cpus: int | None = None) -> int:
    """Cores per worker process: ``cpus // concurrency``, at least 1 (``concurrency`` None or 0: one process)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // max(1, concurrency or 1))


def plan_worker_threads(*, concurrency: int | None, environ=os.environ) -> int:
    """In the worker's main process, before the pool forks: the share of each child, kept in the environment
    (an operator's ``ECOMOPS_NATIVE_THREADS`` wins)."""
    if not environ.get(THREADS_ENV):
        environ[THREADS_ENV] = str(threads_per_process(concurrency=concurrency))
    return int(environ[THREADS_ENV])


def limit_native_threads(threads: int, *, environ=os.environ) -> None:
    """Limit this process's native thread pools to ``threads`` (loaded now or later; torch when imported)."""
    from threadpoolctl import threadpool_limits

    for name in LIBRARY_ENV:
        environ.setdefault(name, str(threads))
    threadpool_limits(limits=threads)  # stays in force: no context manager, for the life of the process
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)

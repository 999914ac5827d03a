"""The Celery application.

Without ``REDIS_URL`` tasks run eagerly in-process (the embedded default); with it they go through Redis
to workers consuming the ``default``, ``ml`` and ``gpu`` queues. Each prefork worker process sizes its native
thread pools to its share of the cores (``ecomops/threads.py``).
"""

import logging
import os

from celery import Celery
from celery.signals import celeryd_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")

app = Celery("ecomops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def _plan_native_threads(sender=None, conf=None, options=None, **kwargs):
    from ecomops.threads import plan_worker_threads

    concurrency = (options or {}).get("concurrency") or (conf or app.conf).worker_concurrency
    try:
        concurrency = int(concurrency) if concurrency else None
    except (TypeError, ValueError):  # "auto": one process per core
        concurrency = None
    plan_worker_threads(concurrency=concurrency or os.cpu_count())


@worker_process_init.connect
def _limit_native_threads(**kwargs):
    from ecomops.threads import THREADS_ENV, limit_native_threads

    if os.environ.get(THREADS_ENV):
        threads = int(os.environ[THREADS_ENV])
        limit_native_threads(threads)
        logging.getLogger(__name__).info("worker process %d: native thread pools limited to %d", os.getpid(), threads)

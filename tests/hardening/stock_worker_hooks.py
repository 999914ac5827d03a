"""Test-only hooks for a real Celery worker that runs stock-changing jobs (``celery worker -I`` this module).

Nothing here is imported by the application. Environment variables set by the test choose what it does:

* ``ECOMOPS_TEST_RESERVE_LOG``: a file that gets one line ``<order external id> <order line pk>`` after each
  reservation ``order_allocate`` writes (inside the order's transaction, i.e. not yet committed);
* ``ECOMOPS_TEST_RESERVE_DELAY``: seconds to sleep after each such reservation, so a test can kill the worker
  while an order's transaction is open;
* ``ECOMOPS_TEST_VISIBILITY_TIMEOUT``: a short Redis visibility timeout (seconds) for this worker, so the
  message of a task whose worker was killed outright is redelivered in seconds, not hours.
"""

from __future__ import annotations

import os
import time


def _install_reserve_hook() -> None:
    from inventory import allocation

    log_path = os.environ.get("ECOMOPS_TEST_RESERVE_LOG", "")
    delay = float(os.environ.get("ECOMOPS_TEST_RESERVE_DELAY", "0") or 0)
    if not log_path and not delay:
        return
    reserve = allocation.stock_reserve

    def stock_reserve_observed(**kwargs):
        movement = reserve(**kwargs)
        if log_path:
            reference = kwargs.get("reference", "")  # "order <external id>"
            line_pk = kwargs["key"].split(":")[1]  # "allocate:<line pk>:<location pk>"
            with open(log_path, "a") as log:
                log.write(f"{reference.removeprefix('order ')} {line_pk}\n")
        if delay:
            time.sleep(delay)
        return movement

    allocation.stock_reserve = stock_reserve_observed


def _shorten_visibility_timeout() -> None:
    seconds = os.environ.get("ECOMOPS_TEST_VISIBILITY_TIMEOUT", "")
    if not seconds:
        return
    from ecomops.celery import app

    options = dict(app.conf.broker_transport_options or {})
    options.update(visibility_timeout=int(seconds), unacked_restore_interval=1, unacked_restore_throttle=1)
    app.conf.broker_transport_options = options


_install_reserve_hook()
_shorten_visibility_timeout()

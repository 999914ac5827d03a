"""A real Celery worker for tests marked ``real_worker`` (Postgres + Redis): import ``worker`` into a test module."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def real_workers_unavailable() -> str:
    """Why real workers cannot run here ("" when they can)."""
    if not os.environ.get("REDIS_URL"):
        return "needs REDIS_URL: real Celery workers talk to Redis"
    if connection.vendor != "postgresql":
        return "needs PostgreSQL: a worker process cannot share the SQLite test database"
    return ""


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker (two processes) for the module, on the test database and a shared media folder."""
    if reason := real_workers_unavailable():
        pytest.skip(reason)
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    media = tmp_path_factory.mktemp("worker-media")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(media),
        "ECOMOPS_TOY_JOBS": "1",
        "ECOMOPS_TOY_DELAY": "0.5",  # toy training takes ~2 s by default, so progress can be watched
        "PYTHONPATH": str(ROOT),
    }
    from ecomops.celery import app

    app.control.purge()  # no stale messages from an earlier run
    log = media / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "default,ml,gpu",
            "-c", "2", "-P", "prefork", "-l", "info", "-I", "tests.ecomops.toy_jobs",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "ecomops-test@%h",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait(lambda: "ready." in log.read_text() or process.poll() is not None, 90, f"worker start ({log})")
        assert process.poll() is None, log.read_text()
        yield media
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        print(log.read_text()[-3000:])


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

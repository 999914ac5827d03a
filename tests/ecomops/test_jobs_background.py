"""The embedded default (no broker) runs jobs in a background thread so the request that starts one returns."""

import threading

import pytest

from ecomops.jobs import job_handler, job_handler_unregister, job_start, job_wait_background
from ecomops.models import JobRun


@pytest.fixture
def gated_kind():
    gate = threading.Event()
    seen = {}

    @job_handler("test:gated", queue="default", time_limit=60)
    def gated(ctx, params):
        ctx.progress(10, "waiting for the gate")
        seen["thread"] = threading.current_thread().name
        if not gate.wait(timeout=30):
            raise RuntimeError("gate never opened")
        return {"answer": params["answer"]}

    yield gate, seen
    job_handler_unregister("test:gated")


@pytest.mark.django_db(transaction=True)
def test_job_started_in_eager_mode_runs_in_a_background_thread_and_finishes(settings, gated_kind):
    gate, seen = gated_kind
    settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND = True

    job = job_start(kind="test:gated", parameters={"answer": 42}, requested_via="test")  # autocommit: sent now

    # job_start returned while the handler still waits for the gate: the caller (a web request) is not blocked.
    assert JobRun.objects.get(pk=job.pk).state in {"queued", "running"}
    gate.set()
    assert job_wait_background(job_id=job.pk, timeout=30)
    job.refresh_from_db()
    assert (job.state, job.progress, job.result) == ("succeeded", 100, {"answer": 42})
    assert seen["thread"] == f"ecomops-job-{job.pk}"


@pytest.mark.django_db(transaction=True)
def test_job_runs_inline_when_background_is_off(settings, gated_kind):
    gate, seen = gated_kind
    settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND = False
    gate.set()

    job = job_start(kind="test:gated", parameters={"answer": 7}, requested_via="test")

    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", {"answer": 7})
    assert seen["thread"] == threading.current_thread().name


@pytest.mark.django_db(transaction=True)
def test_a_command_process_waits_for_the_jobs_it_set_off_in_the_background(settings, gated_kind):
    """manage.py's last step: a re-scoring set off by a command would otherwise die with the process."""
    from ecomops.jobs import job_wait_all_background

    gate, _ = gated_kind
    settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND = True
    job = job_start(kind="test:gated", parameters={"answer": 1}, requested_via="test")
    lines = []

    def announce(line):  # the job waits at its gate until the announcement is made: no race on the database
        lines.append(line)
        gate.set()

    assert job_wait_all_background(announce=announce) == 1

    assert lines == [f"waiting for 1 background job(s) to finish: test:gated (job {job.pk})"]
    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", {"answer": 1})
    assert job_wait_all_background(announce=lines.append) == 0 and len(lines) == 1

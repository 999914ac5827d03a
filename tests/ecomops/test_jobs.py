import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from ecomops.jobs import (
    MAX_ATTEMPTS,
    JobContext,
    job_cancel,
    job_claim,
    job_handler,
    job_handler_unregister,
    job_run,
    job_start,
    jobs_fail_stuck,
)
from ecomops.models import JobRun, ModelVersion
from ecomops.tasks import score_all_task, train_all_task

pytestmark = pytest.mark.django_db


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_training_job_runs_after_commit_and_succeeds_with_progress_log_and_version(toy_kinds, run_on_commit):
    with run_on_commit() as callbacks:
        job = job_start(kind="train:toy", parameters={"mae": 0.5, "values": [2, 4]}, requested_via="test")
        assert JobRun.objects.get(pk=job.pk).state == "queued"  # nothing runs before the commit
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.state, job.progress, job.attempts, job.queue) == ("succeeded", 100, 1, "ml")
    assert job.result == {"version": 1, "promoted": True}
    assert job.celery_task_id != ""
    assert job.started_at <= job.finished_at
    lines = [line.split(" ", 2)[2] for line in job.log.splitlines()]
    assert lines == [
        f"attempt 1 on {socket.gethostname()}:{os.getpid()}",
        "started train:toy with {'mae': 0.5, 'values': [2, 4]}",
        "[  0%] step 1/4",
        "[ 22%] step 2/4",
        "[ 45%] step 3/4",
        "[ 67%] step 4/4",
        "[100%] v1 activated",
        "succeeded",
    ]
    version = ModelVersion.objects.get()
    assert (version.version, version.status, version.trained_by_job_id) == (1, "active", job.pk)


def test_rolled_back_request_queues_nothing(toy_kinds, run_on_commit):
    with run_on_commit() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        job_start(kind="train:toy", requested_via="test")
        raise RuntimeError("request failed")
    assert callbacks == []
    assert JobRun.objects.count() == 0


def test_failed_job_records_error_and_traceback_and_stores_no_version(toy_kinds, run_on_commit):
    with run_on_commit():
        job = job_start(kind="train:toy", parameters={"fail": True}, requested_via="test")
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "RuntimeError: toy training failed on purpose")
    assert 'raise RuntimeError("toy training failed on purpose")' in job.traceback
    assert job.log.splitlines()[-1].endswith("failed: RuntimeError: toy training failed on purpose")
    assert job.progress == 67
    assert ModelVersion.objects.count() == 0


def test_soft_time_limit_fails_the_job_with_a_clear_error():
    from celery.exceptions import SoftTimeLimitExceeded

    @job_handler("test:slow", queue="default", time_limit=30)
    def slow(ctx, params):
        raise SoftTimeLimitExceeded()

    try:
        job = job_run(job_id=job_start(kind="test:slow").pk)
    finally:
        job_handler_unregister("test:slow")
    assert (job.state, job.error) == ("failed", "time limit of 30 s exceeded")


def test_cancel_before_run_means_it_never_runs(toy_kinds):
    job = job_start(kind="train:toy", requested_via="test")
    assert job_cancel(job=job) is True
    assert job_cancel(job=job) is False  # already finished
    job = job_run(job_id=job.pk)
    assert (job.state, job.attempts, job.started_at) == ("canceled", 0, None)
    assert ModelVersion.objects.count() == 0


def test_cancel_while_running_stops_at_next_progress_and_stores_nothing():
    from ecomops.registry import ModelSpec, TrainedModel, model_version_register

    @job_handler("test:cancel-midway", queue="ml")
    def handler(ctx: JobContext, params):
        ctx.progress(10, "working")
        job_cancel(job=ctx.job)  # an operator cancels from the admin meanwhile
        ctx.progress(50, "more work")
        model_version_register(spec=ModelSpec(name="never", primary_metric="mae"), trained=TrainedModel("x", 1, {}))

    try:
        job = job_run(job_id=job_start(kind="test:cancel-midway").pk)
    finally:
        job_handler_unregister("test:cancel-midway")
    assert (job.state, job.progress, job.progress_message) == ("canceled", 10, "working")
    assert job.finished_at is not None
    assert ModelVersion.objects.count() == 0


def test_second_delivery_of_finished_job_changes_nothing(toy_kinds):
    job = job_run(job_id=job_start(kind="train:toy", requested_via="test").pk)
    before = JobRun.objects.filter(pk=job.pk).values().get()
    again = job_run(job_id=job.pk)
    assert again._claim_reason == "finished"
    assert JobRun.objects.filter(pk=job.pk).values().get() == before
    assert ModelVersion.objects.count() == 1


def test_delivery_while_a_live_process_runs_it_does_nothing(toy_kinds):
    job = job_start(kind="train:toy", requested_via="test")
    JobRun.objects.filter(pk=job.pk).update(
        state="running", worker=f"{socket.gethostname()}:{os.getpid()}", claim_token="abc", attempts=1
    )
    before = JobRun.objects.filter(pk=job.pk).values().get()
    again = job_run(job_id=job.pk)
    assert again._claim_reason == "busy"
    assert JobRun.objects.filter(pk=job.pk).values().get() == before
    assert ModelVersion.objects.count() == 0


def test_delivery_after_the_running_process_died_retries_the_job(toy_kinds):
    job = job_start(kind="train:toy", requested_via="test")
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    JobRun.objects.filter(pk=job.pk).update(state="running", worker=dead, claim_token="old", attempts=1, progress=45)
    job = job_run(job_id=job.pk)
    assert (job._claim_reason, job.state, job.attempts, job.progress) == ("retaken", "succeeded", 2, 100)
    assert f"worker {dead} lost; retrying as attempt 2" in job.log
    assert ModelVersion.objects.count() == 1


def test_gives_up_after_max_attempts_of_lost_workers(toy_kinds):
    job = job_start(kind="train:toy", requested_via="test")
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    JobRun.objects.filter(pk=job.pk).update(state="running", worker=dead, claim_token="old", attempts=MAX_ATTEMPTS)
    job = job_run(job_id=job.pk)
    assert (job.state, job.error) == ("failed", f"worker lost {MAX_ATTEMPTS} times (last: {dead}); gave up")
    assert ModelVersion.objects.count() == 0


def test_superseded_attempt_cannot_write_progress_or_versions(toy_kinds):
    from ecomops.jobs import JobSuperseded
    from ecomops.registry import ModelSpec, TrainedModel, model_version_register

    job = job_start(kind="train:toy", requested_via="test")
    claim = job_claim(job_id=job.pk)
    ctx = JobContext(JobRun.objects.get(pk=job.pk), claim_token=claim.token)
    ctx.progress(20, "mine")
    JobRun.objects.filter(pk=job.pk).update(claim_token="another-attempt")
    with pytest.raises(JobSuperseded):
        ctx.progress(40, "stale")
    with pytest.raises(JobSuperseded):
        model_version_register(
            spec=ModelSpec(name="toy", primary_metric="mae"), trained=TrainedModel("m", 1, {}), job=ctx.job
        )
    job.refresh_from_db()
    assert (job.progress, job.progress_message) == (20, "mine")
    assert ModelVersion.objects.count() == 0


def test_stuck_sweep_fails_only_jobs_past_their_limit():
    now = timezone.now()
    stuck = JobRun.objects.create(kind="train:x", state="running", started_at=now - timedelta(seconds=3661 + 60))
    fine = JobRun.objects.create(kind="train:x", state="running", started_at=now - timedelta(seconds=3600))
    never = JobRun.objects.create(kind="train:x", state="queued")
    JobRun.objects.filter(pk=never.pk).update(created_at=now - timedelta(days=2))
    fresh = JobRun.objects.create(kind="train:x", state="queued")
    assert jobs_fail_stuck(now=now) == 2
    states = dict(JobRun.objects.values_list("pk", "state"))
    assert states == {stuck.pk: "failed", fine.pk: "running", never.pk: "failed", fresh.pk: "queued"}
    stuck.refresh_from_db()
    assert stuck.error == "stuck past its time limit of 3600 s (worker unknown)"
    assert jobs_fail_stuck(now=now) == 0


def test_unknown_kind_and_bad_as_of_are_refused():
    with pytest.raises(ValueError, match="unknown job kind 'train:nope'; known: "):
        job_start(kind="train:nope")
    job_handler("test:ok", queue="default")(lambda ctx, params: None)
    try:
        with pytest.raises(ValueError, match=r"parameters.as_of must be a date as YYYY-MM-DD, not '2018-13-01'"):
            job_start(kind="test:ok", parameters={"as_of": "2018-13-01"})
        with pytest.raises(ValueError, match="queue must be one of default, ml, gpu, not 'fast'"):
            job_handler("test:bad", queue="fast")
    finally:
        job_handler_unregister("test:ok")
    assert JobRun.objects.count() == 0


def test_gpu_kinds_go_to_the_configured_gpu_queue(settings):
    job_handler("test:torch", queue="gpu")(lambda ctx, params: None)
    try:
        assert job_start(kind="test:torch").queue == "gpu"
        settings.ECOMOPS_GPU_QUEUE = "ml"
        assert job_start(kind="test:torch").queue == "ml"
    finally:
        job_handler_unregister("test:torch")


def test_schedules_start_every_kind_once(toy_kinds, run_on_commit, monkeypatch):
    import ecomops.jobs

    # Only the toy kinds: the real ones (demand, sentiment, ...) have their own tests.
    toy_only = {kind: handler for kind, handler in ecomops.jobs._HANDLERS.items() if kind in toy_kinds.KINDS}
    monkeypatch.setattr(ecomops.jobs, "_HANDLERS", toy_only)
    JobRun.objects.create(kind="train:toyfan", state="running")  # already running: not started again
    with run_on_commit():
        started = train_all_task()
    assert list(JobRun.objects.filter(pk__in=started).values_list("kind", "requested_via", "state")) == [
        ("train:toy", "schedule", "succeeded")
    ]
    with run_on_commit():
        started = score_all_task()
    assert list(JobRun.objects.filter(pk__in=started).values_list("kind", "state", "result")) == [
        ("score:toy", "succeeded", {"rows": 3})
    ]


def test_context_made_by_hand_for_an_unclaimed_job_writes_until_canceled():
    job = JobRun.objects.create(kind="train:x")
    ctx = JobContext(job)
    ctx.progress(30, "scripted")
    job.refresh_from_db()
    assert (job.progress, job.progress_message, job.state) == (30, "scripted", "queued")
    job_cancel(job=job)
    from ecomops.jobs import JobCanceled

    with pytest.raises(JobCanceled):
        ctx.progress(60, "after cancel")


def test_claim_held_on_another_host_is_taken_over_only_when_its_heartbeat_is_stale(toy_kinds):
    from ecomops.jobs import HEARTBEAT_STALE_SECONDS

    job = job_start(kind="train:toy", requested_via="test")
    now = timezone.now()
    JobRun.objects.filter(pk=job.pk).update(
        state="running", worker="other-node:4242", claim_token="theirs", attempts=1, heartbeat_at=now
    )
    assert job_claim(job_id=job.pk).reason == "busy"
    stale = now - timedelta(seconds=HEARTBEAT_STALE_SECONDS + 1)
    JobRun.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    claim = job_claim(job_id=job.pk)
    assert claim.reason == "retaken"
    job.refresh_from_db()
    assert (job.claim_token, job.attempts, job.worker) == (claim.token, 2, f"{socket.gethostname()}:{os.getpid()}")


def test_results_are_stored_as_json_and_unstorable_results_fail_the_job():
    from datetime import date
    from decimal import Decimal

    import numpy as np

    job_handler("test:numpy", queue="default")(
        lambda ctx, params: {"mae": np.float64(0.25), "n": np.int64(3), "day": date(2018, 1, 2), "cost": Decimal("1.5")}
    )
    job_handler("test:scalar", queue="default")(lambda ctx, params: 7)
    job_handler("test:object", queue="default")(lambda ctx, params: {"model": object()})
    try:
        assert job_run(job_id=job_start(kind="test:numpy").pk).result == {
            "mae": 0.25,
            "n": 3,
            "day": "2018-01-02",
            "cost": 1.5,
        }
        assert job_run(job_id=job_start(kind="test:scalar").pk).result == {"value": 7}
        failed = job_run(job_id=job_start(kind="test:object").pk)
        assert (failed.state, failed.error) == ("failed", "TypeError: job result holds a object, which is not JSON")
    finally:
        for kind in ("test:numpy", "test:scalar", "test:object"):
            job_handler_unregister(kind)


def test_a_claim_refused_by_a_locked_sqlite_table_is_tried_again_and_the_job_runs(toy_kinds, monkeypatch):
    from django.db import OperationalError, connection

    import ecomops.jobs as jobs

    if connection.vendor != "sqlite":
        pytest.skip("SQLite reports lock conflicts as errors; PostgreSQL waits on the row lock")
    job = JobRun.objects.create(kind="train:toy", parameters={"values": [2, 4]})
    calls = []
    real_claim = jobs.job_claim

    def claim_locked_twice(**kwargs):
        calls.append(kwargs["job_id"])
        if len(calls) <= 2:
            raise OperationalError("database table is locked: ecomops_jobrun")
        return real_claim(**kwargs)

    monkeypatch.setattr(jobs, "job_claim", claim_locked_twice)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)

    job = job_run(job_id=job.pk)

    assert calls == [job.pk] * 3
    assert (job.state, job.attempts) == ("succeeded", 1)


def test_any_other_database_error_of_the_claim_is_not_retried(toy_kinds, monkeypatch):
    from django.db import OperationalError

    import ecomops.jobs as jobs

    job = JobRun.objects.create(kind="train:toy", parameters={"values": [2, 4]})
    calls = []

    def broken(**kwargs):
        calls.append(1)
        raise OperationalError("no such table: ecomops_jobrun")

    monkeypatch.setattr(jobs, "job_claim", broken)
    with pytest.raises(OperationalError, match="no such table"):
        job_run(job_id=job.pk)
    assert calls == [1]

"""Jobs through Redis to real ``celery worker`` processes on PostgreSQL (not eager).

Skipped unless REDIS_URL is set and the database is PostgreSQL (CI runs them in its Postgres + Redis pass).
The workers use the test database and this test's media folder, and import the test-only toy kinds.
"""

import os
import signal
import time

import pytest

from ecomops.models import JobRun, ModelVersion

from .workers import wait as _wait
from .workers import worker  # noqa: F401 - the module's real worker fixture

pytestmark = [pytest.mark.real_worker, pytest.mark.slow]


@pytest.fixture
def on_worker(worker, transactional_db, toy_kinds, settings):  # noqa: F811 - pytest injects the imported fixture
    """A test whose jobs run on the module's worker; committed rows are visible to it."""
    settings.MEDIA_ROOT = str(worker)  # the test reads the artifacts the worker wrote


def _finished(job_id: int) -> JobRun:
    _wait(lambda: JobRun.objects.get(pk=job_id).is_finished, 90, f"job {job_id} to finish")
    return JobRun.objects.get(pk=job_id)


def test_training_started_from_admin_runs_on_a_worker_and_activates_only_when_better(on_worker, client, operator_user):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

    incumbent = model_version_register(
        spec=ModelSpec(name="toy", primary_metric="mae"), trained=TrainedModel("m", 0, {"mae": 0.8})
    )
    model_version_promote_if_better(version=incumbent)
    client.force_login(operator_user)
    response = client.post(
        reverse("admin:ecomops_registeredmodel_changelist"),
        {"action": "retrain", ACTION_CHECKBOX_NAME: [incumbent.registered_model_id]},
    )
    assert response.status_code == 302
    job = _finished(JobRun.objects.get().pk)
    # the admin action trains with default parameters: backtest MAE 1.0, worse than 0.8
    assert (job.state, job.progress, job.attempts, job.queue) == ("succeeded", 100, 1, "ml")
    assert job.worker and job.worker != f"{os.uname().nodename}:{os.getpid()}"
    assert job.result == {"version": 2, "promoted": False}
    assert list(ModelVersion.objects.order_by("version").values_list("version", "status")) == [
        (1, "active"),
        (2, "candidate"),
    ]
    from ecomops.jobs import job_start

    better = _finished(job_start(kind="train:toy", parameters={"mae": 0.5}, requested_via="test").pk)
    assert better.result == {"version": 3, "promoted": True}
    assert list(ModelVersion.objects.order_by("version").values_list("version", "status")) == [
        (1, "archived"),
        (2, "candidate"),
        (3, "active"),
    ]


def test_fanout_runs_chunks_on_workers_and_gathers_one_version(on_worker):
    from ecomops.jobs import job_start

    job = _finished(job_start(kind="train:toyfan", parameters={"items": list(range(10)), "chunk_size": 3}).pk)
    assert (job.state, job.chunks_total, job.chunks_done, job.progress) == ("succeeded", 4, 4, 100)
    assert job.result == {"version": 1, "n": 10, "sum_sq": 285, "chunks": 4}
    assert ModelVersion.objects.filter(registered_model__name="toyfan").count() == 1


def test_killed_worker_leaves_no_half_written_version_and_the_job_is_retried(on_worker):
    from ecomops.jobs import job_start

    job = job_start(kind="train:toy", parameters={"steps": 6, "delay": 1.0, "mae": 0.3}, requested_via="test")
    _wait(lambda: JobRun.objects.get(pk=job.pk).progress >= 15, 60, "the job to be half way")
    first = JobRun.objects.get(pk=job.pk)
    child_pid = int(first.worker.rpartition(":")[2])
    os.kill(child_pid, signal.SIGKILL)  # the process running the handler dies mid-training
    job = _finished(job.pk)
    assert (job.state, job.attempts, job.progress) == ("succeeded", 2, 100)
    assert f"worker {first.worker} lost; retrying as attempt 2" in job.log
    assert job.worker != first.worker
    version = ModelVersion.objects.get()  # exactly one, complete version
    from ecomops.registry import model_version_load

    assert (version.version, version.status, version.trained_by_job_id) == (1, "active", job.pk)
    assert model_version_load(version=version) == {"mean": 2.0}


def test_task_delivered_twice_runs_once(on_worker):
    from ecomops.jobs import job_create
    from ecomops.tasks import run_job_task

    job = job_create(kind="train:toy", parameters={"steps": 3, "delay": 0.5}, requested_via="test")
    run_job_task.apply_async(args=[job.pk], queue="ml")
    run_job_task.apply_async(args=[job.pk], queue="ml")  # the same job delivered again while it runs
    job = _finished(job.pk)
    time.sleep(2)  # let the second delivery finish too
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 1)
    assert job.log.count("attempt 1 on") == 1 and "attempt 2" not in job.log
    assert ModelVersion.objects.count() == 1

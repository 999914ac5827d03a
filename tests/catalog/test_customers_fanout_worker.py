"""train:customers on real Celery worker processes over Redis (PostgreSQL): the scoring chunks run on the
workers and are gathered into one version. Skipped without REDIS_URL and PostgreSQL (CI's Postgres + Redis
pass runs it)."""

import os
from datetime import date

import pytest

from catalog.models import CustomerScore
from catalog.services_customers import customer_scores_write
from ecomops.models import JobRun, ModelVersion
from tests.ecomops.workers import (
    wait,
    worker,  # noqa: F401 - the module's real worker fixture
)

from .test_customers_fanout import SCORE_FIELDS, make_history

pytestmark = [pytest.mark.real_worker, pytest.mark.slow]


@pytest.fixture
def on_worker(worker, transactional_db, settings):  # noqa: F811 - pytest injects the imported fixture
    settings.MEDIA_ROOT = str(worker)  # the test reads the artifact the worker wrote


def test_train_customers_scores_chunks_on_workers_into_one_version(on_worker):
    from ecomops.jobs import job_start

    make_history()
    job = job_start(kind="train:customers", parameters={"as_of": "2018-06-30", "chunk_size": 7}, requested_via="test")
    wait(lambda: JobRun.objects.get(pk=job.pk).is_finished, 120, f"job {job.pk} to finish")
    job.refresh_from_db()

    assert job.state == JobRun.State.SUCCEEDED, (job.error, job.log)
    assert (job.chunks_total, job.chunks_done, job.progress) == (5, 5, 100)
    assert job.worker and not job.worker.endswith(f":{os.getpid()}")
    version = ModelVersion.objects.get(registered_model__name="customers")
    assert (version.version, version.status, version.trained_by_job_id) == (1, "active", job.pk)
    assert (job.result["scored"], job.result["version"], job.result["promoted"]) == (30, 1, True)
    on_workers = list(CustomerScore.objects.order_by("customer_id").values_list(*SCORE_FIELDS))
    assert len(on_workers) == 30 and {s[-1] for s in on_workers} == {version.pk}

    CustomerScore.objects.all().delete()  # the same version scoring everyone here writes the same rows
    customer_scores_write(as_of=date(2018, 6, 30), version_id=version.pk)
    assert list(CustomerScore.objects.order_by("customer_id").values_list(*SCORE_FIELDS)) == on_workers

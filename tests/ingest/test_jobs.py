"""Imports as jobs: the report lands in JobRun.result; folders outside the import roots are refused."""

import pytest

from ecomops.jobs import job_create, job_run
from ecomops.models import JobRun
from orders.models import Order

from .files import write_olist

pytestmark = pytest.mark.django_db


def test_import_job_runs_the_importer_and_stores_the_report(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    folder = write_olist(tmp_path / "media" / "imports" / "olist")
    job = job_create(kind="import:olist", parameters={"directory": str(folder)}, requested_via="test")

    job = job_run(job_id=job.pk)

    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert job.result["files"]["olist_orders_dataset.csv"]["created"] == 5  # 3 orders + 2 shipments
    assert (job.result["rejected"], job.result["warnings"]) == ([], [])
    assert (
        job.progress_message
        == "28 created, 0 updated, 0 rows rejected (0 reasons), 0 rows kept with 0 bad optional value(s) not imported"
    )
    assert Order.objects.count() == 3
    assert "olist_orders_dataset.csv" in job.log


def test_import_job_refuses_a_folder_outside_the_import_roots(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    folder = write_olist(tmp_path / "elsewhere")
    job = job_create(kind="import:olist", parameters={"directory": str(folder)}, requested_via="test")

    job = job_run(job_id=job.pk)

    assert job.state == JobRun.State.FAILED
    assert f"{folder} is not under an import folder" in job.error
    assert Order.objects.count() == 0

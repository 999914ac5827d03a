"""Celery entry points of customer analytics: the nightly refresh the beat schedule runs."""

from celery import shared_task


@shared_task(ignore_result=True)
def customers_refresh_task() -> list[int]:
    """Queue the RFM/CLV and recommendations jobs (each a JobRun, visible in the admin)."""
    from ecomops.jobs import job_start

    return [job_start(kind=kind, requested_via="schedule").pk for kind in ("train:customers", "train:recommendations")]

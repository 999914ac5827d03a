"""Celery entry points of the platform: they take ids and call services."""

from celery import shared_task

from .jobs import job_run, jobs_fail_stuck


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job_task(job_id: int) -> None:
    """Run one JobRun; queue and time limits are chosen per kind when it is queued."""
    job_run(job_id=job_id)


@shared_task(ignore_result=True)
def fail_stuck_jobs_task() -> int:
    return jobs_fail_stuck()

"""Celery entry points of the platform: they take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from . import fanout  # noqa: F401 - registers the fan-out chunk and gather tasks with the worker
from .jobs import HARD_LIMIT_GRACE_SECONDS, job_run, job_start, jobs_fail_stuck, model_kinds

logger = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 60


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None)
def run_job_task(self, job_id: int) -> None:
    """Run one JobRun; queue and time limits are chosen per kind when it is queued.

    Safe to deliver twice: a finished job is left alone; a job a live process runs is left alone, but when
    that process may have vanished on another host (no heartbeat yet judged stale) the task checks again
    later, so the job is retried once the claim is found lost.
    """
    job = job_run(job_id=job_id, heartbeat=not self.request.is_eager)
    if getattr(job, "_claim_reason", "") == "busy" and not self.request.is_eager:
        host, _, _pid = job.worker.rpartition(":")
        import socket

        if host != socket.gethostname():
            raise self.retry(countdown=BUSY_RETRY_SECONDS)


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=300 + HARD_LIMIT_GRACE_SECONDS)
def fail_stuck_jobs_task() -> int:
    """Periodic sweep (every five minutes): fail jobs stuck past their time limit."""
    return jobs_fail_stuck()


def _start_all(action: str, parameters: dict | None) -> list[int]:
    from .jobs import jobs_running_or_queued

    started = []
    for name in model_kinds(action):
        kind = f"{action}:{name}"
        if jobs_running_or_queued(kind=kind):
            logger.info("%s already queued or running; not starting another", kind)
            continue
        started.append(job_start(kind=kind, parameters=dict(parameters or {}), requested_via="schedule").pk)
    return started


@shared_task(ignore_result=True)
def train_all_task(parameters: dict | None = None) -> list[int]:
    """Nightly schedule: start the training of every model kind (skipping kinds already queued or running)."""
    return _start_all("train", parameters)


@shared_task(ignore_result=True)
def score_all_task(parameters: dict | None = None) -> list[int]:
    """Hourly schedule: start the scoring of every model kind (skipping kinds already queued or running)."""
    return _start_all("score", parameters)

"""Background jobs: a JobRun row per job, handlers registered by kind, queued after commit.

An app declares what a kind of job does in its ``jobs.py``::

    @job_handler("train:demand", queue="ml", time_limit=3600)
    def train_demand(ctx: JobContext, params: dict) -> dict:
        ctx.progress(10, "loading history")
        ...
        return {"version": 3}

and anything (admin action, API, command, schedule) starts one with
``job_start(kind="train:demand", parameters={...}, requested_by=user, requested_via="admin")``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import JobRun

logger = logging.getLogger(__name__)


class JobCanceled(Exception):
    """Raised inside a handler when its JobRun was canceled while it ran."""


@dataclass(frozen=True)
class JobHandler:
    kind: str
    func: Callable[[JobContext, dict], dict | None]
    queue: str
    time_limit: int
    description: str


_HANDLERS: dict[str, JobHandler] = {}


def job_handler(kind: str, *, queue: str = "ml", time_limit: int = 3600, description: str = ""):
    """Register ``func(ctx, params) -> result dict`` as the handler of job ``kind``."""

    def decorator(func):
        _HANDLERS[kind] = JobHandler(
            kind=kind, func=func, queue=queue, time_limit=time_limit, description=description or (func.__doc__ or "")
        )
        return func

    return decorator


def job_handlers() -> dict[str, JobHandler]:
    return dict(_HANDLERS)


def get_job_handler(kind: str) -> JobHandler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(sorted(_HANDLERS))}") from None


class JobContext:
    """What a running handler uses to report progress and log lines into its JobRun row."""

    def __init__(self, job: JobRun, *, echo: Callable[[str], None] | None = None):
        self.job = job
        self._echo = echo

    def log(self, message: str) -> None:
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
        JobRun.objects.filter(pk=self.job.pk).update(log=_concat(F("log"), line))
        logger.info("job %s: %s", self.job.pk, message)
        if self._echo:
            self._echo(message)

    def progress(self, percent: int, message: str = "") -> None:
        percent = max(0, min(100, int(percent)))
        updated = JobRun.objects.filter(pk=self.job.pk).exclude(state=JobRun.State.CANCELED).update(
            progress=percent, progress_message=message[:255]
        )
        if not updated:
            raise JobCanceled(f"job {self.job.pk} was canceled")
        if message:
            self.log(f"[{percent:3d}%] {message}")


def _concat(field, text: str):
    from django.db.models import Value
    from django.db.models.functions import Concat

    return Concat(field, Value(text))


def job_start(
    *, kind: str, parameters: dict | None = None, requested_by=None, requested_via: str = ""
) -> JobRun:
    """Create a JobRun and queue its task once the surrounding transaction commits."""
    handler = get_job_handler(kind)
    job = JobRun.objects.create(
        kind=kind,
        parameters=parameters or {},
        requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
        requested_via=requested_via,
        time_limit_seconds=handler.time_limit,
    )
    transaction.on_commit(lambda: _enqueue(job.pk, handler))
    return job


def _enqueue(job_id: int, handler: JobHandler) -> None:
    from .tasks import run_job_task

    result = run_job_task.apply_async(
        args=[job_id], queue=handler.queue, soft_time_limit=handler.time_limit, time_limit=handler.time_limit + 60
    )
    JobRun.objects.filter(pk=job_id, celery_task_id="").update(celery_task_id=result.id or "")


def job_run(*, job_id: int, echo: Callable[[str], None] | None = None) -> JobRun:
    """Run a queued job now, in this process. Idempotent: a finished job is left as it is."""
    claimed = JobRun.objects.filter(pk=job_id, state__in=[JobRun.State.QUEUED, JobRun.State.RUNNING]).update(
        state=JobRun.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, error="", traceback=""
    )
    job = JobRun.objects.get(pk=job_id)
    if not claimed:
        return job
    handler = get_job_handler(job.kind)
    ctx = JobContext(job, echo=echo)
    try:
        result = handler.func(ctx, dict(job.parameters)) or {}
    except JobCanceled:
        JobRun.objects.filter(pk=job_id).update(finished_at=timezone.now())
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        import traceback

        logger.exception("job %s (%s) failed", job_id, job.kind)
        JobRun.objects.filter(pk=job_id).update(
            state=JobRun.State.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:4000],
            traceback=traceback.format_exc(),
        )
    else:
        JobRun.objects.filter(pk=job_id).exclude(state=JobRun.State.CANCELED).update(
            state=JobRun.State.SUCCEEDED, finished_at=timezone.now(), progress=100, result=result
        )
    job.refresh_from_db()
    return job


def job_cancel(*, job: JobRun) -> bool:
    """Cancel a job that has not finished; a running handler stops at its next progress report."""
    return bool(
        JobRun.objects.filter(pk=job.pk, state__in=[JobRun.State.QUEUED, JobRun.State.RUNNING]).update(
            state=JobRun.State.CANCELED, finished_at=timezone.now()
        )
    )


def jobs_fail_stuck(*, now=None) -> int:
    """Mark running jobs that outlived their time limit (plus a grace minute) as failed."""
    now = now or timezone.now()
    failed = 0
    for job in JobRun.objects.filter(state=JobRun.State.RUNNING, started_at__isnull=False):
        if (now - job.started_at).total_seconds() > job.time_limit_seconds + 60:
            failed += JobRun.objects.filter(pk=job.pk, state=JobRun.State.RUNNING).update(
                state=JobRun.State.FAILED, finished_at=now, error="stuck past its time limit"
            )
    return failed

"""Background jobs: a JobRun row per job, handlers registered by kind, queued after commit.

An app declares what a kind of job does in its ``jobs.py`` (autodiscovered at start-up)::

    @job_handler("train:demand", queue="ml", time_limit=3600)
    def train_demand(ctx: JobContext, params: dict) -> dict:
        ctx.progress(10, "loading history")
        as_of = params.get("as_of")  # "YYYY-MM-DD" or None: use only data strictly before it
        ...
        return {"version": 3}

and anything (admin action, API, command, schedule) starts one with
``job_start(kind="train:demand", parameters={...}, requested_by=user, requested_via="admin")``.

Conventions: ``train:<model>`` trains and registers a version of registered model ``<model>``;
``score:<model>`` writes prediction rows with the active version. Both are offered in the admin and by
``manage.py train_models`` for every kind registered. Queues: ``default`` (light work), ``ml`` (CPU training
and scoring), ``gpu`` (torch training; a worker on a GPU node runs ``celery -A ecomops worker -Q gpu``).

Delivery guarantees. The task is queued only after the transaction that created the JobRun commits, and
it carries only the job id. Each attempt *claims* the job (a token in ``JobRun.claim_token``); only the
claim holder writes progress, log lines, versions and the final state. A second delivery of the same task
finds the job finished (nothing to do) or claimed by a live process (nothing to do); when the process that
held the claim died (``kill -9``, OOM, node lost: Celery redelivers because of ``acks_late`` and
``reject_on_worker_lost``), the new delivery takes the job over as a new attempt, up to ``MAX_ATTEMPTS``,
then marks it failed. Soft time limits raise inside the handler (job failed with a clear error); the hard
limit kills the process and ``fail_stuck_jobs_task`` (every five minutes) marks the job failed.
In eager mode (no ``REDIS_URL``) everything runs in-process, time limits are not enforced.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback as traceback_module
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .models import JobRun

logger = logging.getLogger(__name__)

QUEUES = ("default", "ml", "gpu")
MAX_ATTEMPTS = 3
HARD_LIMIT_GRACE_SECONDS = 60
HEARTBEAT_SECONDS = 15
HEARTBEAT_STALE_SECONDS = 120
QUEUED_STALE_SECONDS = 24 * 3600


class JobCanceled(Exception):
    """Raised inside a handler when its JobRun was canceled while it ran."""


class JobSuperseded(JobCanceled):
    """Raised inside a handler whose claim was taken over by another attempt (its worker was presumed lost)."""


@dataclass(frozen=True)
class JobHandler:
    kind: str
    func: Callable[[JobContext, dict], dict | None]
    queue: str
    time_limit: int
    description: str

    @property
    def model_name(self) -> str:
        action, _, name = self.kind.partition(":")
        return name if action in {"train", "score"} else ""

    @property
    def routed_queue(self) -> str:
        """The queue the task goes to: ``gpu`` kinds go to ``ECOMOPS_GPU_QUEUE`` (``ml`` where no GPU workers)."""
        if self.queue == "gpu":
            return getattr(settings, "ECOMOPS_GPU_QUEUE", "gpu") or "gpu"
        return self.queue


_HANDLERS: dict[str, JobHandler] = {}


def job_handler(kind: str, *, queue: str = "ml", time_limit: int = 3600, description: str = ""):
    """Register ``func(ctx, params) -> result dict`` as the handler of job ``kind``.

    ``queue`` is ``default``, ``ml`` or ``gpu``; ``time_limit`` is the soft limit in seconds (the hard limit
    and the stuck-job sweep allow one more minute).
    """
    if queue not in QUEUES:
        raise ValueError(f"job {kind!r}: queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    if time_limit <= 0:
        raise ValueError(f"job {kind!r}: time_limit must be positive")

    def decorator(func):
        doc = (func.__doc__ or "").strip().splitlines()
        _HANDLERS[kind] = JobHandler(
            kind=kind, func=func, queue=queue, time_limit=time_limit, description=description or (doc[0] if doc else "")
        )
        return func

    return decorator


def job_handler_unregister(kind: str) -> None:
    """Forget a handler (tests that register throw-away kinds)."""
    _HANDLERS.pop(kind, None)


def job_handlers() -> dict[str, JobHandler]:
    return dict(sorted(_HANDLERS.items()))


def get_job_handler(kind: str) -> JobHandler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        known = ", ".join(sorted(_HANDLERS)) or "none registered"
        raise ValueError(f"unknown job kind {kind!r}; known: {known}") from None


def model_kinds(action: str) -> list[str]:
    """Model names that have a ``<action>:<name>`` handler (action: train or score), sorted."""
    return sorted(h.model_name for h in _HANDLERS.values() if h.kind.startswith(f"{action}:") and h.model_name)


def _this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobContext:
    """What a running handler uses to report progress and log lines into its JobRun row.

    Writes go through the attempt's claim: when the job was canceled, ``progress`` raises
    :class:`JobCanceled`; when another attempt took it over, :class:`JobSuperseded`.
    """

    def __init__(self, job: JobRun, *, echo: Callable[[str], None] | None = None, claim_token: str | None = None):
        self.job = job
        self._echo = echo
        self.claim_token = claim_token if claim_token is not None else job.claim_token
        # A context made by hand for a job nobody claimed (scripts, tests) writes unfenced; only cancel stops it.
        self.fenced = bool(self.claim_token)
        if self.fenced:
            # model_version_register checks this claim before it stores a version (see registry.py).
            job._claim_token = self.claim_token

    def _mine(self):
        if not self.fenced:
            return JobRun.objects.filter(pk=self.job.pk).exclude(state=JobRun.State.CANCELED)
        return JobRun.objects.filter(pk=self.job.pk, claim_token=self.claim_token, state=JobRun.State.RUNNING)

    def log(self, message: str) -> None:
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
        self._mine().update(log=Concat(F("log"), Value(line)), heartbeat_at=timezone.now())
        logger.info("job %s: %s", self.job.pk, message)
        if self._echo:
            self._echo(message)

    def progress(self, percent: int, message: str = "") -> None:
        percent = max(0, min(100, int(percent)))
        updated = self._mine().update(progress=percent, progress_message=message[:255], heartbeat_at=timezone.now())
        if not updated:
            self.raise_if_stopped()
        if message:
            self.log(f"[{percent:3d}%] {message}")

    def raise_if_stopped(self) -> None:
        """Raise JobCanceled / JobSuperseded when this attempt may no longer write; handlers may call it."""
        current = JobRun.objects.filter(pk=self.job.pk).values("state", "claim_token").first()
        if current is None or current["state"] == JobRun.State.CANCELED:
            raise JobCanceled(f"job {self.job.pk} was canceled")
        if not self.fenced:
            return
        if current["claim_token"] != self.claim_token or current["state"] != JobRun.State.RUNNING:
            raise JobSuperseded(f"job {self.job.pk} is now run by another attempt")

    @property
    def parameters(self) -> dict:
        return dict(self.job.parameters)


def job_parameters_clean(parameters: dict | None) -> dict:
    """Check the parameters every job understands; ``as_of`` must be an ISO date (YYYY-MM-DD)."""
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise ValueError("parameters must be a JSON object")
    as_of = parameters.get("as_of")
    if as_of is not None:
        try:
            date.fromisoformat(str(as_of))
        except ValueError:
            raise ValueError(f"parameters.as_of must be a date as YYYY-MM-DD, not {as_of!r}") from None
    return dict(parameters)


def job_start(*, kind: str, parameters: dict | None = None, requested_by=None, requested_via: str = "") -> JobRun:
    """Create a JobRun and queue its task once the surrounding transaction commits.

    Raises ValueError for an unknown kind or parameters that are not a JSON object.
    """
    job = job_create(kind=kind, parameters=parameters, requested_by=requested_by, requested_via=requested_via)
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


# Follow-up jobs held back by ``jobs_follow_ups_deferred`` in this thread: (kind, parameters) -> job_start kwargs.
_deferred = threading.local()


def job_start_follow_up(*, kind: str, parameters: dict | None = None, requested_via: str = "") -> JobRun | None:
    """Start a job that brings derived data up to date with whatever is current when it runs (re-scoring every
    stored review after a model version is activated), unless an identical one is waiting already.

    An identical job (same kind and parameters) still queued will see the newest state when it starts, so a
    second is not created: that one is returned. Inside ``jobs_follow_ups_deferred`` (in this thread) nothing
    is created yet and None is returned: the block starts each distinct follow-up once when it ends."""
    parameters = job_parameters_clean(parameters) or {}
    get_job_handler(kind)  # an unknown kind fails here, not at the end of a deferring block
    pending = getattr(_deferred, "pending", None)
    if pending is not None:
        pending.setdefault(
            (kind, _parameters_key(parameters)),
            {"kind": kind, "parameters": parameters, "requested_via": requested_via},
        )
        return None
    for job in JobRun.objects.filter(kind=kind, state=JobRun.State.QUEUED, started_at__isnull=True).order_by("pk"):
        if job.parameters == parameters:
            return job
    return job_start(kind=kind, parameters=parameters, requested_via=requested_via)


@contextmanager
def jobs_follow_ups_deferred():
    """Hold back the follow-up jobs (``job_start_follow_up``) that the work inside the block asks for and start
    each distinct one once when it ends: ``train_models`` trains sentiment then topics, and each activation
    asks for a re-scoring of every stored review; one re-scoring after both does the same work once, and does
    not compete with the training that follows for the CPU."""
    outer = getattr(_deferred, "pending", None)
    if outer is not None:  # nested: the outermost block starts them
        yield
        return
    _deferred.pending = {}
    try:
        yield
    finally:
        pending, _deferred.pending = _deferred.pending, None
        for kwargs in pending.values():
            job_start_follow_up(**kwargs)


def _parameters_key(parameters: dict) -> str:
    import json

    return json.dumps(parameters, sort_keys=True, default=str)


def job_create(*, kind: str, parameters: dict | None = None, requested_by=None, requested_via: str = "") -> JobRun:
    """Create a queued JobRun without sending it (``job_run`` runs it in this process; commands use that)."""
    handler = get_job_handler(kind)
    parameters = job_parameters_clean(parameters)
    return JobRun.objects.create(
        kind=kind,
        parameters=parameters or {},
        requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
        requested_via=requested_via[:32],
        time_limit_seconds=handler.time_limit,
        queue=handler.routed_queue,
    )


def job_enqueue(*, job_id: int) -> None:
    """Send the task of a queued job to its queue (used after commit; also to re-send a lost message).

    On the embedded default (no broker: Celery is eager) the job would run inside the web request that
    started it, so an operator's "retrain" click would hang the page for minutes. With
    ``ECOMOPS_EAGER_JOBS_IN_BACKGROUND`` (the default) it runs in a background thread of this process
    instead and the page follows its progress bar like it does with a real worker.
    """
    from .celery import app
    from .tasks import run_job_task

    job = JobRun.objects.get(pk=job_id)
    handler = get_job_handler(job.kind)
    if app.conf.task_always_eager and settings.ECOMOPS_EAGER_JOBS_IN_BACKGROUND:
        thread = threading.Thread(
            target=_run_eager_job_in_background, args=(job_id,), name=f"ecomops-job-{job_id}", daemon=True
        )
        thread.start()
        _background_threads[job_id] = thread
        return
    result = run_job_task.apply_async(
        args=[job_id],
        queue=handler.routed_queue,
        soft_time_limit=handler.time_limit,
        time_limit=handler.time_limit + HARD_LIMIT_GRACE_SECONDS,
    )
    JobRun.objects.filter(pk=job_id, celery_task_id="").update(celery_task_id=result.id or "")


# Threads running eager jobs in the background, by job id (tests and ``job_wait_background`` join them).
_background_threads: dict[int, threading.Thread] = {}


def _run_eager_job_in_background(job_id: int) -> None:
    from django.db import connections

    from .tasks import run_job_task

    try:
        run_job_task.apply(args=[job_id])
    except Exception:  # run_job_task records failures on the JobRun; this is a last resort for the log
        logger.exception("background job %s crashed", job_id)
    finally:
        connections.close_all()
        _background_threads.pop(job_id, None)


def job_wait_background(*, job_id: int, timeout: float | None = None) -> bool:
    """Wait for a job running in a background thread of this process; True when it is not running any more."""
    thread = _background_threads.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def job_wait_all_background(*, announce=None) -> int:
    """Wait for every job running in a background thread of this process (a management command's last step);
    returns how many there were. ``announce`` gets one line before the wait when there is any."""
    waited: set[int] = set()
    while True:  # a job may start another (a training that activates a version starts its re-scoring)
        pending = {
            job_id: t for job_id, t in list(_background_threads.items()) if t.is_alive() and job_id not in waited
        }
        if not pending:
            return len(waited)
        if announce is not None:
            kinds = dict(JobRun.objects.filter(pk__in=pending).values_list("pk", "kind"))
            listed = ", ".join(f"{kinds.get(job_id, '?')} (job {job_id})" for job_id in sorted(pending))
            announce(f"waiting for {len(pending)} background job(s) to finish: {listed}")
        for job_id, thread in pending.items():
            thread.join()
            waited.add(job_id)


def _claim_is_alive(job: JobRun, *, now) -> bool:
    """Whether the process holding ``job``'s claim may still be running it."""
    host, _, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return True
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    last_sign = job.heartbeat_at or job.started_at
    return last_sign is not None and (now - last_sign).total_seconds() < HEARTBEAT_STALE_SECONDS


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a job: a token to run it with, or why not."""

    token: str | None
    reason: str  # claimed, retaken, finished, busy, gave-up, missing


def job_claim(*, job_id: int, worker: str | None = None) -> Claim:
    """Take a queued job (or one whose previous attempt's process died) for this process."""
    worker = worker or _this_worker()
    now = timezone.now()
    with transaction.atomic():
        job = JobRun.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return Claim(None, "missing")
        if job.is_finished:
            return Claim(None, "finished")
        reason = "claimed"
        if job.state == JobRun.State.RUNNING:
            if _claim_is_alive(job, now=now):
                return Claim(None, "busy")
            if job.attempts >= MAX_ATTEMPTS:
                JobRun.objects.filter(pk=job_id).update(
                    state=JobRun.State.FAILED,
                    finished_at=now,
                    claim_token="",
                    error=f"worker lost {job.attempts} times (last: {job.worker}); gave up",
                    log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} worker {job.worker} lost; gave up\n")),
                )
                return Claim(None, "gave-up")
            reason = "retaken"
        token = uuid.uuid4().hex
        note = f"attempt {job.attempts + 1} on {worker}"
        if reason == "retaken":
            note = f"worker {job.worker} lost; retrying as {note}"
        JobRun.objects.filter(pk=job_id).update(
            state=JobRun.State.RUNNING,
            claim_token=token,
            worker=worker[:255],
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            progress=0,
            progress_message="",
            error="",
            traceback="",
            log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} {note}\n")),
        )
    return Claim(token, reason)


class _Heartbeat(threading.Thread):
    """Refreshes ``heartbeat_at`` while a handler runs, so other hosts can tell a live claim from a lost one."""

    def __init__(self, job_id: int, token: str):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.token = job_id, token
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    JobRun.objects.filter(pk=self.job_id, claim_token=self.token).update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a missed beat is not worth failing the job
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connection.close()


class Deferred:
    """Returned (via ``job_fanout``) by a handler whose work continues in other tasks that finish the job."""

    def __init__(self, result: dict):
        self.result = result


def _claim_when_unlocked(*, job_id: int, worker: str | None, attempts: int = 6) -> Claim:
    """``job_claim``, tried again when SQLite reports the table or database locked (a job thread started by a web
    request claims while the request may still read the same table; shared-cache SQLite answers "table is locked"
    at once, without waiting its busy timeout). The claim is one transaction, so a retry is safe."""
    for attempt in range(attempts):
        try:
            return job_claim(job_id=job_id, worker=worker)
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def job_run(
    *, job_id: int, echo: Callable[[str], None] | None = None, worker: str | None = None, heartbeat: bool = False
) -> JobRun:
    """Run a job now, in this process. Idempotent: a finished job, or one a live process runs, is left alone."""
    claim = _claim_when_unlocked(job_id=job_id, worker=worker)
    job = JobRun.objects.get(pk=job_id)
    if claim.token is None:
        logger.info("job %s not run here: %s", job_id, claim.reason)
        job._claim_reason = claim.reason
        return job
    job._claim_reason = claim.reason
    return _execute(job, claim.token, echo=echo, heartbeat=heartbeat)


def json_safe(value):
    """``value`` as plain JSON values: numpy scalars and arrays, dates, decimals, sets converted; TypeError else."""
    import json
    from decimal import Decimal

    def convert(value):
        if hasattr(value, "item") and callable(value.item):
            return value.item()  # numpy scalar
        if hasattr(value, "tolist") and callable(value.tolist):
            return value.tolist()  # numpy array
        if isinstance(value, Decimal):
            return float(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        raise TypeError(f"job result holds a {type(value).__name__}, which is not JSON")

    return json.loads(json.dumps(value, default=convert))


def _json_result(result) -> dict:
    """A handler's result as a JSON object (other values are wrapped as ``{"value": ...}``)."""
    if result is None:
        return {}
    return json_safe(result if isinstance(result, dict) else {"value": result})


def _execute(job: JobRun, token: str, *, echo, heartbeat: bool) -> JobRun:
    mine = JobRun.objects.filter(pk=job.pk, claim_token=token, state=JobRun.State.RUNNING)
    ctx = JobContext(job, echo=echo, claim_token=token)
    beat = _Heartbeat(job.pk, token) if heartbeat else None
    if beat:
        beat.start()
    try:
        handler = get_job_handler(job.kind)
        ctx.log(f"started {job.kind} with {job.parameters or 'no parameters'}")
        result = handler.func(ctx, dict(job.parameters))
        if not isinstance(result, Deferred):
            result = _json_result(result)
    except JobSuperseded:
        logger.warning("job %s: attempt superseded; stopping without writing", job.pk)
    except JobCanceled:
        JobRun.objects.filter(pk=job.pk, state=JobRun.State.CANCELED).update(claim_token="")
        if echo:
            echo("canceled")
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        from celery.exceptions import SoftTimeLimitExceeded

        logger.exception("job %s (%s) failed", job.pk, job.kind)
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SoftTimeLimitExceeded):
            message = f"time limit of {job.time_limit_seconds} s exceeded"
        mine.update(
            state=JobRun.State.FAILED,
            finished_at=timezone.now(),
            error=message[:4000],
            traceback=traceback_module.format_exc(),
            log=Concat(F("log"), Value(f"{timezone.now():%Y-%m-%d %H:%M:%S} failed: {message[:500]}\n")),
        )
        if echo:
            echo(f"failed: {message}")
    else:
        if isinstance(result, Deferred):
            mine.update(result=result.result)
        else:
            mine.update(
                state=JobRun.State.SUCCEEDED,
                finished_at=timezone.now(),
                progress=100,
                result=result,
                log=Concat(F("log"), Value(f"{timezone.now():%Y-%m-%d %H:%M:%S} succeeded\n")),
            )
            if echo:
                echo("succeeded")
    finally:
        if beat:
            beat.stopped.set()
            beat.join(timeout=5)
    job.refresh_from_db()
    return job


def job_cancel(*, job: JobRun) -> bool:
    """Cancel a job that has not finished; a running handler stops at its next progress report."""
    now = timezone.now()
    return bool(
        JobRun.objects.filter(pk=job.pk, state__in=[JobRun.State.QUEUED, JobRun.State.RUNNING]).update(
            state=JobRun.State.CANCELED,
            finished_at=now,
            log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} canceled\n")),
        )
    )


def jobs_fail_stuck(*, now=None) -> int:
    """Mark failed: running jobs past their time limit (plus a grace minute: the hard limit killed them or their
    worker vanished) and queued jobs nobody picked up within a day (no worker consumes their queue).

    Returns how many jobs it marked."""
    now = now or timezone.now()
    failed = 0
    running = JobRun.objects.filter(state=JobRun.State.RUNNING, started_at__isnull=False)
    for job in running.only("pk", "started_at", "time_limit_seconds", "worker", "claim_token"):
        age = (now - job.started_at).total_seconds()
        if age <= job.time_limit_seconds + HARD_LIMIT_GRACE_SECONDS:
            continue
        reason = f"stuck past its time limit of {job.time_limit_seconds} s (worker {job.worker or 'unknown'})"
        failed += JobRun.objects.filter(pk=job.pk, state=JobRun.State.RUNNING, claim_token=job.claim_token).update(
            state=JobRun.State.FAILED, finished_at=now, error=reason, claim_token=""
        )
    stale_queued = JobRun.objects.filter(
        state=JobRun.State.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_STALE_SECONDS)
    )
    failed += stale_queued.update(
        state=JobRun.State.FAILED, finished_at=now, error="never started: no worker took it within a day"
    )
    return failed


def jobs_running_or_queued(*, kind: str) -> bool:
    return JobRun.objects.filter(Q(kind=kind), Q(state=JobRun.State.QUEUED) | Q(state=JobRun.State.RUNNING)).exists()

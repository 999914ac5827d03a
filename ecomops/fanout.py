"""Scale-out: split a job's work into chunks that run on any number of workers, then gather them into one result.

Work that splits by series, product or customer (per-series forecasts, batch scoring) runs as a Celery
chord: one task per chunk on the job's queue (so more workers on more machines finish sooner), then one
gather task that combines the chunk results, typically registering one ModelVersion. The job stays
``running`` while its chunks run; ``JobRun.chunks_done / chunks_total`` drive its progress bar (5 -> 95 %),
and the gather step marks it succeeded. In eager mode (no ``REDIS_URL``) the same code runs in-process.

Example (``inventory/jobs.py``)::

    from ecomops.fanout import ChunkContext, fanout_chunk, fanout_gather, job_fanout
    from ecomops.jobs import JobContext, job_handler


    @fanout_chunk("demand:forecast")
    def forecast_chunk(chunk: ChunkContext, items: list, context: dict) -> dict:
        # items: a slice of what job_fanout got (JSON values: ids, keys). Write rows idempotently (upsert on
        # natural keys): a chunk whose worker died is delivered again. Return a small JSON-able summary.
        errors = forecast_series(series_ids=items, as_of=context["as_of"])
        return {"series": len(items), "abs_error_sum": errors.sum()}


    @fanout_gather("demand:forecast")
    def forecast_gather(ctx: JobContext, results: list[dict], context: dict) -> dict:
        mae = sum(r["abs_error_sum"] for r in results) / sum(r["series"] for r in results)
        version = model_version_register(spec=SPEC, trained=..., job=ctx.job)
        model_version_promote_if_better(version=version)
        return {"version": version.version, "mae": mae}


    @job_handler("train:demand", queue="ml")
    def train_demand(ctx: JobContext, params: dict):
        series = list(demand_series_ids(until=params.get("as_of")))
        return job_fanout(ctx, items=series, chunk_size=200, chunk=forecast_chunk, gather=forecast_gather,
                          context={"as_of": params.get("as_of")})

Failure handling: an exception in a chunk marks the job failed (with its traceback) and the gather step is
skipped; a canceled job's remaining chunks do nothing; only the attempt that fanned out (its claim token)
may gather, so a chunk result can never land in a superseded attempt's version.
"""

from __future__ import annotations

import logging
import traceback as traceback_module
from collections.abc import Callable, Iterable
from typing import Any

from celery import chord, current_app, shared_task
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .jobs import Deferred, JobCanceled, JobContext, _json_result, json_safe
from .models import JobRun

logger = logging.getLogger(__name__)

_CHUNKS: dict[str, Callable] = {}
_GATHERS: dict[str, Callable] = {}


def fanout_chunk(name: str):
    """Register ``func(chunk: ChunkContext, items: list, context: dict) -> JSON-able`` as chunk step ``name``."""

    def decorator(func):
        _CHUNKS[name] = func
        func.fanout_name = name
        return func

    return decorator


def fanout_gather(name: str):
    """Register ``func(ctx: JobContext, results: list, context: dict) -> dict`` as gather step ``name``."""

    def decorator(func):
        _GATHERS[name] = func
        func.fanout_name = name
        return func

    return decorator


def _name(step: str | Callable, registry: dict, what: str) -> str:
    name = step if isinstance(step, str) else getattr(step, "fanout_name", "")
    if name not in registry:
        raise ValueError(f"{what} {step!r} is not registered with @fanout_{what}")
    return name


class ChunkContext:
    """What a chunk step gets: its job, its position, and a way to log and to stop when the job was canceled."""

    def __init__(self, *, job_id: int, claim_token: str, index: int, total: int):
        self.job_id, self.claim_token, self.index, self.total = job_id, claim_token, index, total

    def still_mine(self) -> bool:
        return JobRun.objects.filter(pk=self.job_id, claim_token=self.claim_token, state=JobRun.State.RUNNING).exists()

    def raise_if_stopped(self) -> None:
        if not self.still_mine():
            raise JobCanceled(f"job {self.job_id} stopped; chunk {self.index + 1} not needed")

    def log(self, message: str) -> None:
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} [chunk {self.index + 1}/{self.total}] {message}\n"
        JobRun.objects.filter(pk=self.job_id, claim_token=self.claim_token, state=JobRun.State.RUNNING).update(
            log=Concat(F("log"), Value(line)), heartbeat_at=timezone.now()
        )


def job_fanout(
    ctx: JobContext,
    *,
    items: Iterable[Any],
    chunk_size: int,
    chunk: str | Callable,
    gather: str | Callable,
    context: dict | None = None,
    queue: str | None = None,
) -> Deferred | dict:
    """Split ``items`` into chunks of ``chunk_size``, run ``chunk`` on each (in parallel on the workers), then
    ``gather`` their results in order. Return this from the handler: the job finishes when ``gather`` does.

    ``items`` and ``context`` must be JSON values (ids, keys, dates as strings). With no items, ``gather``
    runs at once with an empty list and its result is returned.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    chunk_name = _name(chunk, _CHUNKS, "chunk")
    gather_name = _name(gather, _GATHERS, "gather")
    items = list(items)
    context = dict(context or {})
    if not items:
        return _GATHERS[gather_name](ctx, [], context) or {}
    job = ctx.job
    chunks = [items[start : start + chunk_size] for start in range(0, len(items), chunk_size)]
    queue = queue or job.queue or "ml"
    JobRun.objects.filter(pk=job.pk, claim_token=ctx.claim_token).update(chunks_total=len(chunks), chunks_done=0)
    ctx.progress(5, f"{len(items)} items in {len(chunks)} chunks of at most {chunk_size} on queue {queue}")
    header = [
        fanout_chunk_task.s(job.pk, ctx.claim_token, chunk_name, index, len(chunks), part, context).set(queue=queue)
        for index, part in enumerate(chunks)
    ]
    body = fanout_gather_task.s(job.pk, ctx.claim_token, gather_name, context).set(queue=queue)
    if current_app.conf.task_always_eager:
        chord(header)(body)  # in-process: the same connection sees this attempt's uncommitted rows
    else:
        transaction.on_commit(lambda: chord(header)(body))  # workers must see the committed chunk counts
    return Deferred({"fanout": {"items": len(items), "chunks": len(chunks), "chunk_size": chunk_size}})


def _fail(job_id: int, claim_token: str, message: str) -> None:
    now = timezone.now()
    JobRun.objects.filter(pk=job_id, claim_token=claim_token, state=JobRun.State.RUNNING).update(
        state=JobRun.State.FAILED,
        finished_at=now,
        error=message[:4000],
        traceback=traceback_module.format_exc(),
        log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} failed: {message[:500]}\n")),
    )


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=False)
def fanout_chunk_task(
    job_id: int, claim_token: str, chunk_name: str, index: int, total: int, items: list, context: dict
) -> Any:
    """One chunk of a fanned-out job; failures mark the job failed (the gather step then does nothing)."""
    chunk_ctx = ChunkContext(job_id=job_id, claim_token=claim_token, index=index, total=total)
    if not chunk_ctx.still_mine():
        return None
    try:
        result = json_safe(_CHUNKS[chunk_name](chunk_ctx, items, context))
    except JobCanceled:
        return None
    except Exception as exc:  # noqa: BLE001 - recorded on the job
        logger.exception("job %s chunk %s failed", job_id, index)
        _fail(job_id, claim_token, f"chunk {index + 1}/{total} failed: {type(exc).__name__}: {exc}")
        return None
    mine = JobRun.objects.filter(pk=job_id, claim_token=claim_token, state=JobRun.State.RUNNING)
    mine.filter(chunks_done__lt=F("chunks_total")).update(chunks_done=F("chunks_done") + 1)
    done = mine.values_list("chunks_done", flat=True).first()
    if done is not None:
        mine.update(progress=5 + int(90 * done / max(total, 1)), progress_message=f"chunk {done}/{total} done")
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def fanout_gather_task(results: list, job_id: int, claim_token: str, gather_name: str, context: dict) -> None:
    """Combine the chunk results of a job (in chunk order) and finish it."""
    job = JobRun.objects.filter(pk=job_id, claim_token=claim_token, state=JobRun.State.RUNNING).first()
    if job is None:
        return  # canceled, failed in a chunk, or superseded: nothing to gather
    ctx = JobContext(job, claim_token=claim_token)
    mine = JobRun.objects.filter(pk=job_id, claim_token=claim_token, state=JobRun.State.RUNNING)
    try:
        ctx.progress(95, "gathering chunk results")
        result = _json_result(_GATHERS[gather_name](ctx, list(results), context))
    except JobCanceled:
        return
    except Exception as exc:  # noqa: BLE001 - recorded on the job
        logger.exception("job %s gather failed", job_id)
        _fail(job_id, claim_token, f"gather failed: {type(exc).__name__}: {exc}")
        return
    now = timezone.now()
    mine.update(
        state=JobRun.State.SUCCEEDED,
        finished_at=now,
        progress=100,
        progress_message="done",
        result=result,
        log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} succeeded\n")),
    )

"""A small model kind for the platform's own tests: ``train:toy`` / ``score:toy`` and a fanned-out ``train:toyfan``.

Imported by the tests (and by real workers started with ``-I tests.ecomops.toy_jobs``); product code never
registers it. Training fits the mean of a few numbers given in the parameters and reports the backtest
MAE the parameters ask for, so each promotion branch can be driven exactly.
"""

from __future__ import annotations

import os
import time
from datetime import date

from ecomops.fanout import ChunkContext, fanout_chunk, fanout_gather, job_fanout
from ecomops.jobs import JobContext, job_handler, job_handler_unregister
from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

TOY = ModelSpec(name="toy", primary_metric="mae", higher_is_better=False, description="Test model: a mean.")
TOYFAN = ModelSpec(name="toyfan", primary_metric="mae", higher_is_better=False, description="Test model, fanned out.")


def train_toy(ctx: JobContext, params: dict) -> dict:
    """Train the toy model: the mean of ``values``; its backtest MAE is ``mae``."""
    steps = int(params.get("steps", 4))
    delay = float(params.get("delay", os.environ.get("ECOMOPS_TOY_DELAY", 0)))
    for step in range(steps):
        ctx.progress(int(90 * step / steps), f"step {step + 1}/{steps}")
        time.sleep(delay)
    if params.get("fail"):
        raise RuntimeError("toy training failed on purpose")
    values = [float(v) for v in params.get("values", [1.0, 2.0, 3.0])]
    as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    version = model_version_register(
        spec=TOY,
        trained=TrainedModel(
            algorithm="mean",
            artifact={"mean": sum(values) / len(values)},
            metrics={"mae": float(params.get("mae", 1.0))},
            parameters={"n": len(values)},
            explanation={"method": "coefficient", "global": [{"feature": "intercept", "importance": 1.0}]},
            as_of=as_of,
        ),
        job=ctx.job,
    )
    promoted = model_version_promote_if_better(version=version)
    ctx.progress(100, f"v{version.version} {'activated' if promoted else 'kept as candidate'}")
    return {"version": version.version, "promoted": promoted}


def score_toy(ctx: JobContext, params: dict) -> dict:
    """Score with the toy model (returns how many rows it would write)."""
    ctx.progress(50, "scoring")
    return {"rows": int(params.get("rows", 3))}


@fanout_chunk("toyfan:sum")
def toyfan_chunk(chunk: ChunkContext, items: list, context: dict) -> dict:
    if context.get("fail_on") in items:
        raise ValueError(f"item {context['fail_on']} is poison")
    total = sum(int(item) * int(item) for item in items)
    chunk.log(f"{len(items)} items")
    return {"n": len(items), "sum_sq": total}


@fanout_gather("toyfan:sum")
def toyfan_gather(ctx: JobContext, results: list, context: dict) -> dict:
    n = sum(r["n"] for r in results)
    sum_sq = sum(r["sum_sq"] for r in results)
    version = model_version_register(
        spec=TOYFAN,
        trained=TrainedModel(algorithm="sum-of-squares", artifact={"sum_sq": sum_sq}, metrics={"mae": 1.0 / n}),
        job=ctx.job,
    )
    model_version_promote_if_better(version=version)
    return {"version": version.version, "n": n, "sum_sq": sum_sq, "chunks": len(results)}


def train_toyfan(ctx: JobContext, params: dict):
    """Fan the toy work out: the sum of squares of ``items`` in chunks."""
    return job_fanout(
        ctx,
        items=list(params.get("items", [1, 2, 3])),
        chunk_size=int(params.get("chunk_size", 2)),
        chunk=toyfan_chunk,
        gather=toyfan_gather,
        context={"fail_on": params.get("fail_on")},
    )


KINDS = {
    "train:toy": (train_toy, 120),
    "score:toy": (score_toy, 60),
    "train:toyfan": (train_toyfan, 300),
}


def register() -> None:
    for kind, (func, limit) in KINDS.items():
        job_handler(kind, queue="ml", time_limit=limit)(func)


def unregister() -> None:
    for kind in KINDS:
        job_handler_unregister(kind)


if os.environ.get("ECOMOPS_TOY_JOBS") == "1":  # real worker processes started by the tests
    register()

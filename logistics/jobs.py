"""Background jobs of logistics: train the delivery model, score open orders."""

from datetime import date

from django.utils import timezone

from ecomops.jobs import JobContext, job_handler
from ecomops.models import JobRun

from .services import delivery_model_label, delivery_predict_as_of, delivery_score_open_orders


@job_handler("train:delivery", queue="ml", time_limit=1800, description="Train the delivery-date model as of a date.")
def train_delivery(ctx: JobContext, params: dict) -> dict:
    """Train as of ``params['as_of']`` (default today) and predict the orders purchased since."""
    as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else timezone.now().date()
    ctx.progress(5, f"training as of {as_of}")
    run = delivery_predict_as_of(
        as_of=as_of, target_late_share=params.get("target_late_share"), job=JobRun.objects.get(pk=ctx.job.pk)
    )
    ctx.progress(100, f"{delivery_model_label(run.version)}: {len(run.predictions)} orders predicted")
    return {"version": run.version.version, "status": run.version.status, "predictions": len(run.predictions)}


@job_handler("score:delivery", queue="ml", time_limit=1800, description="Refresh ETA and late risk of open orders.")
def score_delivery(ctx: JobContext, params: dict) -> dict:
    """Score every undelivered order with the active delivery model."""
    ctx.progress(5, "scoring open orders")
    count = delivery_score_open_orders(job=JobRun.objects.get(pk=ctx.job.pk))
    ctx.progress(100, f"{count} orders scored")
    return {"predictions": count}


@job_handler("score:order-risk", queue="default", time_limit=900, description="Score new orders for anomalies.")
def score_order_risk(ctx: JobContext, params: dict) -> dict:
    """Score every new order without a risk row (unusual value / quantity, state mismatch, bursts)."""
    from .services import order_risks_score_new

    ctx.progress(5, "scoring new orders")
    count = order_risks_score_new(limit=int(params.get("limit", 5000)))
    ctx.progress(100, f"{count} orders scored")
    return {"scored": count}

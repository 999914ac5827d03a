"""Background jobs of pricing: train the price-response model, score it into price recommendations."""

from datetime import date

from django.utils import timezone

from ecomops.jobs import JobContext, job_handler
from ecomops.models import ModelVersion

from .services import price_recommendations_create, price_response_train, price_response_version_for


def _as_of(params: dict) -> date:
    value = params.get("as_of")
    return date.fromisoformat(value) if value else timezone.localdate()


@job_handler("train:price_response", queue="ml", time_limit=3600)
def train_price_response(ctx: JobContext, params: dict) -> dict:
    """Fit the price-response model on sales before ``as_of`` (default today) and store its elasticities."""
    ctx.progress(5, "loading sales history")
    version = price_response_train(
        as_of=_as_of(params), select=bool(params.get("select", True)), job=ctx.job, log=ctx.log
    )
    ctx.progress(100, f"trained v{version.version}")
    return {"model_version": version.pk, "version": version.version, "metrics": version.metrics}


@job_handler("score:price_response", queue="ml", time_limit=3600)
def score_price_response(ctx: JobContext, params: dict) -> dict:
    """Recommend prices as of ``as_of`` with ``model_version`` (default: the one trained as of that date)."""
    as_of = _as_of(params)
    ctx.progress(5, "loading model")
    if params.get("model_version"):
        version = ModelVersion.objects.get(pk=params["model_version"])
    else:
        version = price_response_version_for(as_of=as_of, select=bool(params.get("select", True)))
    ctx.progress(40, f"recommending with {version}")
    run = price_recommendations_create(as_of=as_of, version=version)
    ctx.progress(100, f"{len(run.created)} recommendations, {len(run.skipped)} skipped")
    return {"created": len(run.created), "skipped": [list(s) for s in run.skipped[:100]], "model_version": version.pk}

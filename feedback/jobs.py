"""Background jobs of feedback: train sentiment (torch part on the gpu queue) and topics, score reviews."""

from datetime import date, datetime, time

from django.utils import timezone

from ecomops.jobs import JobContext, job_handler

from .models import Review
from .services import reviews_analyze, reviews_flag_suspicious, sentiment_train, topics_train
from .services_queue import queue_refresh_priorities


def _until(params: dict) -> datetime | None:
    """The start of the ``as_of`` day (the job parameters' YYYY-MM-DD), in the site's time zone."""
    if not params.get("as_of"):
        return None
    return timezone.make_aware(datetime.combine(date.fromisoformat(str(params["as_of"])), time.min))


@job_handler("train:sentiment", queue="gpu", time_limit=3600)
def train_sentiment(ctx: JobContext, params: dict) -> dict:
    """Train the NB-TF-IDF and torch sentiment models (and their ensemble) on all labelled reviews; the best is active.

    ``as_of``: only reviews written strictly before that date (undated imported sets are always included)."""
    algorithms = tuple(params.get("algorithms") or ("linear", "neural", "ensemble"))
    versions = sentiment_train(job=ctx.job, algorithms=algorithms, progress=ctx.progress, until=_until(params))
    ctx.progress(100, ", ".join(f"v{v.version} {v.algorithm} macro-F1 {v.metrics['macro_f1']}" for v in versions))
    return {"versions": [v.pk for v in versions], "metrics": {v.version: v.metrics["macro_f1"] for v in versions}}


@job_handler("train:topics", queue="ml", time_limit=1800)
def train_topics(ctx: JobContext, params: dict) -> dict:
    """Learn complaint topics from an olist_classified-format CSV (``path``; default: the shared data copy);
    ``as_of``: only reviews written strictly before that date."""
    ctx.progress(10, "training topic model")
    version = topics_train(path=params.get("path"), job=ctx.job, until=_until(params))
    ctx.progress(100, f"v{version.version} macro-F1 {version.metrics['macro_f1']}")
    return {"model_version": version.pk, "metrics": version.metrics}


@job_handler("score:sentiment", queue="ml", time_limit=3600)
def score_sentiment(ctx: JobContext, params: dict) -> dict:
    """Score reviews: ``review_ids``, ``all`` (re-score everything), or by default those not yet scored."""
    if params.get("review_ids"):
        ids = [int(pk) for pk in params["review_ids"]]
    elif params.get("all"):
        ids = None
    else:
        ids = list(Review.objects.filter(analysis__isnull=True).order_by("pk").values_list("pk", flat=True))
    ctx.progress(10, "scoring reviews")
    scored = reviews_analyze(review_ids=ids)
    ctx.progress(80, f"{scored} reviews scored; looking for suspicious reviews")
    flagged = reviews_flag_suspicious()
    refreshed = queue_refresh_priorities()
    return {"scored": scored, "suspicious": flagged, "queue_items": refreshed}

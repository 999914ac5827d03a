"""Background jobs of feedback: train sentiment (torch part on the gpu queue) and topics, score reviews."""

from ecomops.jobs import JobContext, job_handler

from .models import Review
from .services import reviews_analyze, reviews_flag_suspicious, sentiment_train, topics_train
from .services_queue import queue_refresh_priorities


@job_handler("train:sentiment", queue="gpu", time_limit=3600)
def train_sentiment(ctx: JobContext, params: dict) -> dict:
    """Train the NB-TF-IDF and torch sentiment models (and their ensemble) on all labelled reviews; the best is active."""
    algorithms = tuple(params.get("algorithms") or ("linear", "neural", "ensemble"))
    versions = sentiment_train(job=ctx.job, algorithms=algorithms, progress=ctx.progress)
    ctx.progress(100, ", ".join(f"v{v.version} {v.algorithm} macro-F1 {v.metrics['macro_f1']}" for v in versions))
    return {"versions": [v.pk for v in versions], "metrics": {v.version: v.metrics["macro_f1"] for v in versions}}


@job_handler("train:topics", queue="ml", time_limit=1800)
def train_topics(ctx: JobContext, params: dict) -> dict:
    """Learn complaint topics from an olist_classified-format CSV (``path``; default: the shared data copy)."""
    ctx.progress(10, "training topic model")
    version = topics_train(path=params.get("path"), job=ctx.job)
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

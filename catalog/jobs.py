"""Background jobs of customer analytics (autodiscovered by ecomops.jobs)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from ecomops.jobs import JobContext, job_handler


def _as_of(params: dict) -> date:
    raw = params.get("as_of")
    if not raw:
        return timezone.now().date()
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"as_of: not a date (YYYY-MM-DD): {raw!r}") from None


@job_handler("train:customers", queue="ml", time_limit=3600)
def train_customers(ctx: JobContext, params: dict) -> dict:
    """Recompute RFM segments (a dated snapshot) and refit BG/NBD + Gamma-Gamma, then score CLV and churn."""
    from catalog.services_customers import customer_scores_recompute, rfm_recompute

    as_of = _as_of(params)
    ctx.progress(5, f"RFM segments as of {as_of}")
    segmented = rfm_recompute(as_of=as_of)
    ctx.progress(40, f"{segmented} customers segmented; fitting BG/NBD + Gamma-Gamma")
    try:
        result = customer_scores_recompute(as_of=as_of, job=ctx.job)
    except ValueError as exc:
        ctx.log(f"CLV not refitted: {exc}")
        return {"as_of": str(as_of), "segmented": segmented, "clv": str(exc)}
    ctx.progress(95, f"{result.customers_scored} customers scored with CLV v{result.version}")
    return {
        "as_of": str(as_of),
        "segmented": segmented,
        "scored": result.customers_scored,
        "version": result.version,
        "promoted": result.promoted,
        "metrics": result.metrics,
    }


@job_handler("train:recommendations", queue="ml", time_limit=3600)
def train_recommendations(ctx: JobContext, params: dict) -> dict:
    """Train EASE recommendations, backtest against most-popular, store top-N, bought-together and popular lists."""
    from catalog.services_customers import recommendations_train_and_store

    as_of = _as_of(params)
    ctx.progress(5, f"training recommendations on purchases up to {as_of}")
    result = recommendations_train_and_store(as_of=as_of, job=ctx.job)
    ctx.progress(95, f"v{result.version}: {result.customers} customers, {result.associations} pairs stored")
    return {
        "version": result.version,
        "promoted": result.promoted,
        "customers": result.customers,
        "products": result.products,
        "associations": result.associations,
        "metrics": result.metrics,
    }


@job_handler("score:customers", queue="ml", time_limit=3600)
def score_customers(ctx: JobContext, params: dict) -> dict:
    """Recompute RFM segments and re-score CLV / churn with the active model version (no refit)."""
    from catalog.services_customers import customer_scores_recompute, rfm_recompute

    as_of = _as_of(params)
    ctx.progress(5, f"RFM segments as of {as_of}")
    segmented = rfm_recompute(as_of=as_of)
    ctx.progress(40, f"{segmented} customers segmented; scoring with the active version")
    result = customer_scores_recompute(as_of=as_of, refit=False, job=ctx.job)
    return {"as_of": str(as_of), "segmented": segmented, "scored": result.customers_scored, "version": result.version}

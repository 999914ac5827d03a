"""Background jobs of customer analytics (autodiscovered by ecomops.jobs)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from ecomops.fanout import ChunkContext, fanout_chunk, fanout_gather, job_fanout
from ecomops.jobs import JobContext, job_handler


def _as_of(params: dict) -> date:
    raw = params.get("as_of")
    if not raw:
        return timezone.now().date()
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"as_of: not a date (YYYY-MM-DD): {raw!r}") from None


SCORE_CHUNK_SIZE = 20_000  # customers per scoring chunk: ~10 chunks for 200k customers, a few s each


def _chunk_size(params: dict) -> int:
    raw = params.get("chunk_size", SCORE_CHUNK_SIZE)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"chunk_size: not an integer: {raw!r}") from None
    if value < 1:
        raise ValueError(f"chunk_size: must be at least 1, got {value}")
    return value


@fanout_chunk("customers:score")
def score_customers_chunk(chunk: ChunkContext, items: list, context: dict) -> dict:
    """Score the customers of the id ranges in ``items`` with the version the train step chose (upserts)."""
    from catalog.services_customers import customer_scores_gather, customer_scores_write

    as_of = date.fromisoformat(context["as_of"])
    results = []
    for first_id, last_id in items:
        chunk.raise_if_stopped()
        results.append(
            customer_scores_write(
                as_of=as_of, version_id=context["scoring_version_id"], first_id=first_id, last_id=last_id
            )
        )
    return customer_scores_gather(results) | {"probability_alive_sum": sum(r["probability_alive"] for r in results)}


@fanout_gather("customers:score")
def score_customers_gather(ctx: JobContext, results: list, context: dict) -> dict:
    """Every chunk is scored: promote the candidate if it beats the active version, sum the chunks."""
    from catalog.services_customers import customer_clv_promote

    number, promoted = customer_clv_promote(candidate_id=context.get("candidate_id"))
    customers = sum(r["customers"] for r in results)
    bands: dict[str, int] = {}
    for r in results:
        for band, n in r["churn_risk"].items():
            bands[band] = bands.get(band, 0) + n
    out = {
        "as_of": context["as_of"],
        "segmented": context["segmented"],
        "scored": customers,
        "version": number if number is not None else context["scoring_version"],
        "chunks": len(results),
        "clv_12m_total": round(sum(r["clv_12m_total"] for r in results), 2),
        "mean_probability_alive": round(sum(r["probability_alive_sum"] for r in results) / customers, 6)
        if customers
        else None,
        "churn_risk": dict(sorted(bands.items())),
    }
    if context.get("candidate_id") is not None:
        out |= {"promoted": promoted, "metrics": context["metrics"]}
    out["scoring_version"] = context["scoring_version"]
    ctx.log(f"{customers} customers scored in {len(results)} chunks with v{context['scoring_version']}")
    return out


def _fan_out_scoring(ctx: JobContext, params: dict, *, refit: bool):
    from catalog.services_customers import customer_clv_fit, customer_score_ranges, rfm_recompute
    from ecomops.models import ModelVersion

    as_of = _as_of(params)
    chunk_size = _chunk_size(params)
    ctx.progress(1, f"RFM segments as of {as_of}")
    segmented = rfm_recompute(as_of=as_of)
    ctx.progress(3, f"{segmented} customers segmented; {'fitting BG/NBD + Gamma-Gamma' if refit else 'scoring'}")
    try:
        fit = customer_clv_fit(as_of=as_of, refit=refit, job=ctx.job)
    except ValueError as exc:
        if not refit:
            raise
        ctx.log(f"CLV not refitted: {exc}")
        return {"as_of": str(as_of), "segmented": segmented, "clv": str(exc)}
    scoring = ModelVersion.objects.values_list("version", flat=True).get(pk=fit.scoring_version_id)
    ranges = customer_score_ranges(as_of=as_of, chunk_size=chunk_size)
    ctx.log(f"scoring {len(ranges)} chunks of up to {chunk_size} customers with v{scoring}")
    context = {
        "as_of": str(as_of),
        "segmented": segmented,
        "scoring_version_id": fit.scoring_version_id,
        "scoring_version": scoring,
        "candidate_id": fit.candidate_id,
        "metrics": fit.metrics,
    }
    return job_fanout(
        ctx, items=ranges, chunk_size=1, chunk=score_customers_chunk, gather=score_customers_gather, context=context
    )


@job_handler("train:customers", queue="ml", time_limit=3600)
def train_customers(ctx: JobContext, params: dict):
    """Recompute RFM segments (a dated snapshot), fit BG/NBD + Gamma-Gamma once, then score CLV and churn in
    chunks of customers across the workers (``chunk_size``, default 20,000), promoting the new version at the
    end only if it beats the active one on the backtest."""
    return _fan_out_scoring(ctx, params, refit=True)


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
def score_customers(ctx: JobContext, params: dict):
    """Recompute RFM segments and re-score CLV / churn with the active model version (no refit), in chunks
    of customers across the workers."""
    return _fan_out_scoring(ctx, params, refit=False)

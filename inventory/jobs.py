"""Background jobs of inventory: demand model training and scoring (autodiscovered by ecomops.jobs)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from ecomops.jobs import JobContext, job_handler

DEFAULT_HORIZON = 28


def _default_as_of() -> date:
    """Today, or the day after the last recorded sale when the history stops earlier (an imported archive):
    forecasting from today would otherwise pad years of empty days onto every series."""
    from .forecasting import demand_history_end

    today = timezone.now().date()
    end = demand_history_end()
    return min(today, end) if end else today


def _as_of(params: dict) -> date | None:
    """The job's ``as_of`` parameter as a date (None when not given)."""
    raw = params.get("as_of")
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        raise ValueError(f"as_of: not a date (YYYY-MM-DD): {raw!r}") from None


def _params(params: dict) -> tuple[date, int]:
    as_of = _as_of(params) or _default_as_of()
    try:
        horizon = int(params.get("horizon", DEFAULT_HORIZON))
    except (TypeError, ValueError):
        raise ValueError(f"horizon: not a whole number of periods: {params.get('horizon')!r}") from None
    return as_of, horizon


def _run(ctx: JobContext, params: dict) -> dict:
    from .forecasting import demand_forecast_train

    as_of, horizon = _params(params)
    run = demand_forecast_train(as_of=as_of, horizon=horizon, job=ctx.job, progress=ctx.progress)
    return {
        "as_of": as_of.isoformat(),
        "horizon": horizon,
        "version": run.version.version,
        "promoted": run.promoted,
        "rows": run.rows,
        "series": run.series,
        "metrics": run.metrics,
    }


@job_handler("train:demand", queue="ml", time_limit=3600)
def train_demand(ctx: JobContext, params: dict) -> dict:
    """Train the demand model on sales strictly before as_of, backtest, register, promote if better, write rows."""
    return _run(ctx, params)


@job_handler("score:demand", queue="ml", time_limit=3600)
def score_demand(ctx: JobContext, params: dict) -> dict:
    """Refresh the active version's forecast rows as of a date with its stored model (no retraining)."""
    from .forecasting import demand_forecast_score

    as_of, horizon = _params(params)
    run = demand_forecast_score(as_of=as_of, horizon=horizon, progress=ctx.progress)
    return {
        "as_of": as_of.isoformat(),
        "horizon": horizon,
        "version": run.version.version,
        "rows": run.rows,
        "series": run.series,
    }


@job_handler(
    "allocate:orders",
    queue="default",
    time_limit=1800,
    description="Allocate approved orders without a reservation (nearest location with stock), oldest first.",
)
def allocate_orders(ctx: JobContext, params: dict) -> dict:
    """Allocate pending orders one transaction each; safe to re-run after a lost worker (keys, locks)."""
    from orders.models import Order

    from .allocation import ALLOCATABLE_STATUSES, AllocationError, order_allocate
    from .models import Allocation

    try:
        limit = int(params.get("limit", 500))
    except (TypeError, ValueError):
        raise ValueError(f"limit: not a whole number of orders: {params.get('limit')!r}") from None
    # Orders an earlier, lost attempt allocated already hold reservations, so they are not picked again.
    pending = list(
        Order.objects.filter(status__in=ALLOCATABLE_STATUSES)
        .exclude(lines__allocations__status=Allocation.Status.RESERVED)
        .order_by("purchased_at", "pk")
        .values_list("pk", flat=True)[: max(limit, 0)]
    )
    counts = {"allocated": 0, "failed": 0}
    for done, pk in enumerate(pending, start=1):
        try:
            order_allocate(order=Order(pk=pk), user=ctx.job.requested_by)
            counts["allocated"] += 1
        except AllocationError as exc:
            ctx.log(str(exc))
            counts["failed"] += 1
        ctx.progress(100 * done // len(pending))
    return counts


@job_handler(
    "plan:replenishment",
    queue="default",
    time_limit=1800,
    description="Recompute the replenishment suggestions from the active demand forecast (every product and location).",
)
def plan_replenishment(ctx: JobContext, params: dict) -> dict:
    """The planner's "recompute suggestions" (admin action) as a job: 18k marketplace series take about 17 s, too
    long for the page that asked. ``as_of`` (YYYY-MM-DD): the first forecast day to plan from (default today)."""
    from .replenishment import replenishment_suggest

    ctx.progress(10, "computing suggestions")
    rows = replenishment_suggest(as_of=_as_of(params))
    return {"suggestions": len(rows), "with_quantity": sum(1 for row in rows if row.quantity > 0)}

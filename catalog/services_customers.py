"""Customer analytics services: RFM segments, BG/NBD lifetime value, recommendations, campaign audiences.

Why orders are read the way they are: ``orders`` depends on ``catalog`` (an order points at a Customer), so
catalog must not import ``orders`` at module level. Everything here reads orders through
``apps.get_model("orders", ...)`` inside functions (or raw SQL on their tables for the RFM pass), which
keeps the dependency arrow pointing one way while the analytics still live beside the customers.

Stock is owned by ``inventory`` (downstream of orders). Recommendations filter out-of-stock products
through ``products_available``: it uses a hook the inventory app may register
(``availability_filter_register``) and otherwise reads ``inventory.StockLevel`` via ``apps.get_model``;
products without any stock row (marketplace items we do not stock) count as available.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from catalog.models import (
    AudienceMember,
    CampaignAudience,
    Category,
    Customer,
    CustomerRecommendation,
    CustomerScore,
    CustomerSegment,
    CustomerSegmentSnapshot,
    PopularProduct,
    Product,
    ProductAssociation,
)

logger = logging.getLogger(__name__)

EXCLUDED_ORDER_STATUSES = ("canceled", "unavailable")
CLV_SPEC_NAME = "customers"  # = the job kind train:customers, so the registry admin can retrain it
RECOMMENDATIONS_SPEC_NAME = "recommendations"  # = train:recommendations
STORED_RECOMMENDATIONS = 20  # more than a page shows, so stock filtering at request time still fills it


def _cutoff(day: date) -> datetime:
    """The first instant after ``day`` (UTC): "as of a day" includes that whole day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


# --- RFM segmentation ------------------------------------------------------------------------------------------

SEGMENT_SQL = """
CASE
  WHEN r = 5 AND f >= 4 THEN 'champions'
  WHEN r IN (3, 4) AND f >= 4 THEN 'loyal'
  WHEN r >= 4 AND f IN (2, 3) THEN 'potential_loyalist'
  WHEN r = 5 AND f = 1 THEN 'new'
  WHEN r = 4 AND f = 1 THEN 'promising'
  WHEN r = 3 AND f = 3 THEN 'need_attention'
  WHEN r = 3 AND f <= 2 THEN 'about_to_sleep'
  WHEN r <= 2 AND f = 5 THEN 'cant_lose'
  WHEN r <= 2 AND f >= 3 THEN 'at_risk'
  WHEN r = 2 THEN 'hibernating'
  ELSE 'lost'
END
"""


def segment_for_scores(recency_score: int, frequency_score: int) -> str:
    """The segment the SQL above assigns, in Python (used by tests and docs to state the map once more)."""
    r, f = recency_score, frequency_score
    if r == 5 and f >= 4:
        return CustomerSegment.CHAMPIONS
    if r in (3, 4) and f >= 4:
        return CustomerSegment.LOYAL
    if r >= 4 and f in (2, 3):
        return CustomerSegment.POTENTIAL_LOYALIST
    if r == 5 and f == 1:
        return CustomerSegment.NEW
    if r == 4 and f == 1:
        return CustomerSegment.PROMISING
    if r == 3 and f == 3:
        return CustomerSegment.NEED_ATTENTION
    if r == 3:
        return CustomerSegment.ABOUT_TO_SLEEP
    if r <= 2 and f == 5:
        return CustomerSegment.CANT_LOSE
    if r <= 2 and f >= 3:
        return CustomerSegment.AT_RISK
    if r == 2:
        return CustomerSegment.HIBERNATING
    return CustomerSegment.LOST


def _quintile(expr: str) -> str:
    # PERCENT_RANK gives tied customers the same score (NTILE would split ties arbitrarily); CASE instead of
    # FLOOR/CAST keeps it identical on SQLite and PostgreSQL.
    return (
        f"CASE WHEN {expr} < 0.2 THEN 1 WHEN {expr} < 0.4 THEN 2 WHEN {expr} < 0.6 THEN 3 "
        f"WHEN {expr} < 0.8 THEN 4 ELSE 5 END"
    )


def rfm_select_sql(*, as_of: date) -> tuple[str, list]:
    """The SELECT (with its parameters) producing one snapshot row per buying customer, in the column order
    of ``RFM_COLUMNS``; portable between SQLite (3.25+) and PostgreSQL."""
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    if connection.vendor == "postgresql":
        recency = "(%s::date - (pc.last_at AT TIME ZONE 'UTC')::date)"
    else:
        recency = "CAST(julianday(%s) - julianday(date(pc.last_at)) AS INTEGER)"
    sql = f"""
    WITH per_order AS (
        SELECT o.customer_id AS customer_id, o.purchased_at AS purchased_at, SUM(l.quantity * l.unit_price) AS total
        FROM {Order._meta.db_table} o LEFT JOIN {OrderLine._meta.db_table} l ON l.order_id = o.id
        WHERE o.purchased_at < %s AND o.status NOT IN (%s, %s)
        GROUP BY o.id
    ), per_customer AS (
        SELECT customer_id, MAX(purchased_at) AS last_at, COUNT(*) AS frequency, COALESCE(SUM(total), 0) AS monetary
        FROM per_order
        GROUP BY customer_id
    ), measured AS (
        SELECT pc.customer_id, {recency} AS recency_days, pc.frequency, pc.monetary
        FROM per_customer pc
    ), ranked AS (
        SELECT customer_id, recency_days, frequency, monetary,
               PERCENT_RANK() OVER (ORDER BY recency_days DESC) AS pr_r,
               PERCENT_RANK() OVER (ORDER BY frequency) AS pr_f,
               PERCENT_RANK() OVER (ORDER BY monetary) AS pr_m
        FROM measured
    ), scored AS (
        SELECT customer_id, recency_days, frequency, monetary,
               {_quintile("pr_r")} AS r, {_quintile("pr_f")} AS f, {_quintile("pr_m")} AS m
        FROM ranked
    )
    SELECT customer_id, %s, recency_days, frequency, monetary, r, f, m, {SEGMENT_SQL} FROM scored
    """
    cutoff = _cutoff(as_of)
    return sql, [cutoff, *EXCLUDED_ORDER_STATUSES, as_of, as_of]


RFM_COLUMNS = (
    "customer_id, as_of, recency_days, frequency, monetary, recency_score, frequency_score, monetary_score, segment"
)


def rfm_recompute(*, as_of: date) -> int:
    """Recompute every buying customer's RFM scores and segment as of ``as_of`` (orders up to that day, not
    canceled/unavailable), in one INSERT ... SELECT with window functions; replaces that date's snapshot.

    Scores 1-5 are quintiles of PERCENT_RANK: recency (more recent = higher), frequency (orders),
    monetary (sum of line quantity × unit price). Returns the number of customers scored.

    Measured on 1M customers / 2.6M orders / 5.3M lines (``benchmarks/rfm_scale.py``, PostgreSQL backend CPU):
    orders and their lines are read in one pass (totals per order, then per customer; on PostgreSQL a merge
    join over the two id indexes instead of two scans of the orders and a 2.5M-entry hash), and rows are
    inserted in customer order so the (customer, as_of) unique index grows at its right edge instead of
    splitting pages at random: 16.5 -> 11.0 CPU seconds for a new date.
    """
    select, params = rfm_select_sql(as_of=as_of)
    table = CustomerSegmentSnapshot._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the window sorts and the per-customer hash need memory, not temp files
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")  # compiling costs more than it saves on this one-shot query
        cursor.execute(f"DELETE FROM {table} WHERE as_of = %s", [as_of])
        cursor.execute(f"INSERT INTO {table} ({RFM_COLUMNS}) {select} ORDER BY customer_id", params)
        inserted = cursor.rowcount
    logger.info("RFM snapshot %s: %d customers", as_of, inserted)
    return inserted


def rfm_dates() -> list[date]:
    return list(CustomerSegmentSnapshot.objects.values_list("as_of", flat=True).distinct().order_by("as_of"))


def segment_summary(*, as_of: date) -> pd.DataFrame:
    """Per segment: customers, share, total and mean spend, mean CLV (where scored), for one snapshot date."""
    rows = (
        CustomerSegmentSnapshot.objects.filter(as_of=as_of)
        .values("segment")
        .annotate(customers=Count("pk"), monetary=Sum("monetary"))
        .order_by("segment")
    )
    frame = pd.DataFrame(list(rows), columns=["segment", "customers", "monetary"])
    clv = (
        CustomerScore.objects.filter(customer__segment_snapshots__as_of=as_of)
        .values("customer__segment_snapshots__segment")
        .annotate(clv=Sum("clv_12m"), scored=Count("pk"))
        .order_by()
    )
    clv_frame = pd.DataFrame(list(clv)).rename(columns={"customer__segment_snapshots__segment": "segment"})
    labels = dict(CustomerSegment.choices)
    order = list(labels)
    frame["monetary"] = frame["monetary"].astype(float)
    if not clv_frame.empty:
        frame = frame.merge(clv_frame, on="segment", how="left")
    else:
        frame["clv"], frame["scored"] = np.nan, 0
    total = frame["customers"].sum()
    frame["share"] = frame["customers"] / total if total else 0.0
    frame["mean_spend"] = frame["monetary"] / frame["customers"]
    frame["mean_clv_12m"] = frame["clv"].astype(float) / frame["scored"].replace(0, np.nan)
    frame["segment_label"] = frame["segment"].map(labels)
    frame["_order"] = frame["segment"].map(order.index)
    frame = frame.sort_values("_order").reset_index(drop=True)
    return frame[["segment", "segment_label", "customers", "share", "monetary", "mean_spend", "mean_clv_12m"]]


def segment_movement(*, date_from: date, date_to: date) -> pd.DataFrame:
    """Customers by (segment on ``date_from``, segment on ``date_to``); customers new on ``date_to`` come
    from the pseudo-segment ``(none)``."""
    Snapshot = CustomerSegmentSnapshot
    before = dict(Snapshot.objects.filter(as_of=date_from).values_list("customer_id", "segment"))
    after = Snapshot.objects.filter(as_of=date_to).values_list("customer_id", "segment")
    counts: dict[tuple[str, str], int] = {}
    for customer_id, segment in after:
        key = (before.get(customer_id, "(none)"), segment)
        counts[key] = counts.get(key, 0) + 1
    frame = pd.DataFrame(
        [(a, b, n) for (a, b), n in counts.items()], columns=["from_segment", "to_segment", "customers"]
    )
    return frame.sort_values(["from_segment", "to_segment"]).reset_index(drop=True)


def segment_history() -> pd.DataFrame:
    """Customers per segment for every snapshot date (long format: as_of, segment, customers)."""
    rows = (
        CustomerSegmentSnapshot.objects.values("as_of", "segment")
        .annotate(customers=Count("pk"))
        .order_by("as_of", "segment")
    )
    return pd.DataFrame(list(rows), columns=["as_of", "segment", "customers"])


# --- Lifetime value (BG/NBD + Gamma-Gamma) ----------------------------------------------------------------------


def purchase_history(*, until: date) -> pd.DataFrame:
    """One row per order line of non-canceled orders up to ``until``: customer, order, product, date, amount."""
    OrderLine = apps.get_model("orders", "OrderLine")
    rows = (
        OrderLine.objects.filter(order__purchased_at__lt=_cutoff(until))
        .exclude(order__status__in=EXCLUDED_ORDER_STATUSES)
        .values_list("order__customer_id", "order_id", "product_id", "order__purchased_at", "quantity", "unit_price")
        .order_by()
    )
    frame = pd.DataFrame(list(rows), columns=["customer", "order", "product", "date", "quantity", "unit_price"])
    frame["amount"] = frame["quantity"].astype(float) * frame["unit_price"].astype(float)
    frame["date"] = pd.to_datetime(frame["date"], utc=True).dt.tz_localize(None)
    return frame


def customer_daily_purchases(*, until: date, first_id: int | None = None, last_id: int | None = None) -> pd.DataFrame:
    """Purchase occasions of non-canceled orders up to ``until``: one row per customer and UTC day with the
    day's spend (customer, date, amount), aggregated in SQL so a million orders never become model objects.
    ``first_id`` / ``last_id`` keep the customers whose id is in that range (a scoring chunk)."""
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    if connection.vendor == "postgresql":
        day = "(o.purchased_at AT TIME ZONE 'UTC')::date"
    else:
        day = "date(o.purchased_at)"  # SQLite keeps datetimes as UTC text
    where, params = ["o.purchased_at < %s", "o.status NOT IN (%s, %s)"], [_cutoff(until), *EXCLUDED_ORDER_STATUSES]
    if first_id is not None:
        where.append("o.customer_id >= %s")
        params.append(first_id)
    if last_id is not None:
        where.append("o.customer_id <= %s")
        params.append(last_id)
    sql = f"""
        SELECT o.customer_id, {day} AS day, SUM(l.quantity * l.unit_price) AS amount
        FROM {OrderLine._meta.db_table} l JOIN {Order._meta.db_table} o ON o.id = l.order_id
        WHERE {" AND ".join(where)}
        GROUP BY o.customer_id, {day}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["amount"] = frame["amount"].astype(float)
    return frame


@dataclass(frozen=True)
class ClvResult:
    as_of: date
    customers_scored: int
    version: int | None
    promoted: bool
    metrics: dict


@dataclass(frozen=True)
class ClvFit:
    """The outcome of the train step: the registered candidate (None when only re-scoring), the version whose
    parameters score the customers (the candidate when it beats the active one on the backtest, else the
    active one) and the candidate's metrics."""

    as_of: date
    candidate_id: int | None
    scoring_version_id: int
    metrics: dict


def _clv_spec():
    from ecomops.registry import ModelSpec

    return ModelSpec(
        name=CLV_SPEC_NAME,
        primary_metric="holdout_mae",
        higher_is_better=False,
        description="BG/NBD repeat purchases + Gamma-Gamma spend: P(alive), CLV, churn risk.",
    )


def customer_clv_fit(*, as_of: date, holdout_weeks: int = 13, refit: bool = True, job=None) -> ClvFit:
    """The train step, run once: fit BG/NBD + Gamma-Gamma on every customer's purchases up to ``as_of``,
    backtest it (fit until ``as_of`` minus ``holdout_weeks``, predict the holdout) and register the candidate
    version. Promotion is left to the end of scoring (``customer_clv_promote``), so a version only becomes
    active once every customer has been scored with it. ``refit=False`` picks the active version instead.
    Raises ValueError when the history cannot support the model or there is nothing to score with."""
    from catalog.ml.clv import BetaGeoModel, GammaGammaModel, rfm_summary
    from ecomops.registry import (
        TrainedModel,
        active_model_version,
        model_version_is_better,
        model_version_register,
    )

    active = active_model_version(CLV_SPEC_NAME)
    if not refit:
        if active is None:
            raise ValueError("no active customers model to score with: run train:customers first")
        return ClvFit(as_of=as_of, candidate_id=None, scoring_version_id=active.pk, metrics=dict(active.metrics))
    history = customer_daily_purchases(until=as_of)
    if history.empty:
        raise ValueError(f"no purchases up to {as_of}: nothing to fit")
    end = pd.Timestamp(as_of)
    summary = rfm_summary(history, calibration_end=end)
    repeaters = int((summary["frequency"] > 0).sum())
    if len(summary) < 20 or repeaters < 5:
        raise ValueError(
            f"BG/NBD needs at least 20 customers and 5 with repeat purchases; have {len(summary)} and {repeaters}"
        )
    metrics: dict = {"customers": int(len(summary)), "repeat_customers": repeaters}
    calibration_end = end - pd.Timedelta(weeks=holdout_weeks)
    back = rfm_summary(history, calibration_end=calibration_end, observation_end=end)
    if len(back) >= 20 and (back["frequency"] > 0).sum() >= 5:
        model = BetaGeoModel().fit(back["frequency"], back["recency"], back["T"])
        predicted = model.conditional_expected_purchases(holdout_weeks, back["frequency"], back["recency"], back["T"])
        actual = back["frequency_holdout"].to_numpy()
        naive = (back["frequency"] / back["T"].clip(lower=1)).to_numpy() * holdout_weeks
        metrics.update(
            holdout_mae=float(np.mean(np.abs(predicted - actual))),
            holdout_mae_naive=float(np.mean(np.abs(naive - actual))),
            holdout_predicted=float(predicted.sum()),
            holdout_actual=int(actual.sum()),
            holdout_weeks=holdout_weeks,
        )
    model = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    try:
        spend_params = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"]).params_.__dict__
    except ValueError:
        spend_params = {}
    metrics["log_likelihood"] = model.log_likelihood_
    trained = TrainedModel(
        algorithm="BG/NBD + Gamma-Gamma (maximum likelihood)",
        artifact={
            "bgnbd": model.params_.__dict__,
            "gamma_gamma": spend_params,
            "mean_spend": float(summary["monetary_value"][summary["frequency"] > 0].mean()),
        },
        metrics=metrics,
        parameters={"bgnbd": model.params_.__dict__, "gamma_gamma": spend_params, "time_unit": "week"},
        data_start=history["date"].min().to_pydatetime().replace(tzinfo=UTC),
        data_end=history["date"].max().to_pydatetime().replace(tzinfo=UTC),
        as_of=as_of,
    )
    version = model_version_register(spec=_clv_spec(), trained=trained, job=job)
    scoring = version if model_version_is_better(candidate=version, incumbent=active) else active
    return ClvFit(as_of=as_of, candidate_id=version.pk, scoring_version_id=scoring.pk, metrics=metrics)


def customer_score_ranges(*, as_of: date, chunk_size: int) -> list[list[int]]:
    """The buying customers up to ``as_of`` split into id ranges ``[first_id, last_id]`` of at most
    ``chunk_size`` customers each: the scoring chunks (small to send, whatever the number of customers)."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size: must be at least 1, got {chunk_size}")
    Order = apps.get_model("orders", "Order")
    ids = (
        Order.objects.filter(purchased_at__lt=_cutoff(as_of), lines__isnull=False)
        .exclude(status__in=EXCLUDED_ORDER_STATUSES)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by("customer_id")
    )
    ids = list(ids)
    return [[ids[i], ids[min(i + chunk_size, len(ids)) - 1]] for i in range(0, len(ids), chunk_size)]


def _scoring_models(version):
    from catalog.ml.clv import BetaGeoModel, BGNBDParams, GammaGammaModel, GammaGammaParams
    from ecomops.registry import model_version_load

    stored = model_version_load(version=version)
    model = BetaGeoModel.from_params(BGNBDParams(**stored["bgnbd"]))
    spend = None
    if stored["gamma_gamma"]:
        spend = GammaGammaModel()
        spend.params_ = GammaGammaParams(**stored["gamma_gamma"])
        spend.mean_spend_ = stored["mean_spend"]
    return model, spend, stored["mean_spend"]


def customer_scores_write(
    *, as_of: date, version_id: int, first_id: int | None = None, last_id: int | None = None
) -> dict:
    """Score the buying customers with ids in ``[first_id, last_id]`` (all when not given) with the parameters
    of ModelVersion ``version_id``: P(alive), expected purchases in 90 days, expected spend, 12-month CLV
    (1 %/month discount), churn band. One upsert per customer, so a chunk delivered twice writes the same rows.
    Returns the chunk's sums for the gather step."""
    from catalog.ml.clv import churn_band, customer_lifetime_value, rfm_summary
    from ecomops.models import ModelVersion

    version = ModelVersion.objects.get(pk=version_id)
    model, spend, mean_spend = _scoring_models(version)
    history = customer_daily_purchases(until=as_of, first_id=first_id, last_id=last_id)
    if history.empty:
        return {"customers": 0, "clv_12m": 0.0, "probability_alive": 0.0, "churn_risk": {}}
    summary = rfm_summary(history, calibration_end=pd.Timestamp(as_of))
    x, tx, t_big = summary["frequency"], summary["recency"], summary["T"]
    p_alive = np.clip(model.probability_alive(x, tx, t_big), 0.0, 1.0)
    expected_90 = model.conditional_expected_purchases(90 / 7, x, tx, t_big)
    if spend is not None:
        avg_spend = spend.conditional_expected_average_spend(x, summary["monetary_value"])
        clv = customer_lifetime_value(model, spend, x, tx, t_big, summary["monetary_value"], horizon_periods=12)
    else:
        avg_spend = np.where(x > 0, summary["monetary_value"], mean_spend)
        clv = model.conditional_expected_purchases(52, x, tx, t_big) * avg_spend
    bands = [churn_band(float(p)) for p in p_alive]
    rows = [
        CustomerScore(
            customer_id=int(customer_id),
            as_of=as_of,
            frequency=int(x.iloc[i]),
            recency_weeks=float(tx.iloc[i]),
            age_weeks=float(t_big.iloc[i]),
            probability_alive=float(p_alive[i]),
            expected_purchases_90d=float(expected_90[i]),
            expected_average_spend=_money(avg_spend[i]),
            clv_12m=_money(clv[i]),
            churn_risk=bands[i],
            model_version_id=version.pk,
        )
        for i, customer_id in enumerate(summary.index)
    ]
    fields = [f.name for f in CustomerScore._meta.concrete_fields if f.name not in ("id", "customer")]
    with transaction.atomic():
        CustomerScore.objects.bulk_create(
            rows, batch_size=2000, update_conflicts=True, unique_fields=["customer"], update_fields=fields
        )
    finite_clv = np.where(np.isfinite(clv), clv, 0.0)
    return {
        "customers": len(rows),
        "clv_12m": round(float(np.round(finite_clv, 2).sum()), 2),
        "probability_alive": float(p_alive.sum()),
        "churn_risk": {band: bands.count(band) for band in sorted(set(bands))},
    }


def customer_scores_gather(chunks: list[dict]) -> dict:
    """Sum the chunk results of ``customer_scores_write``."""
    customers = sum(c["customers"] for c in chunks)
    bands: dict[str, int] = {}
    for c in chunks:
        for band, n in c["churn_risk"].items():
            bands[band] = bands.get(band, 0) + n
    return {
        "customers": customers,
        "clv_12m_total": round(sum(c["clv_12m"] for c in chunks), 2),
        "mean_probability_alive": round(sum(c["probability_alive"] for c in chunks) / customers, 6)
        if customers
        else None,
        "churn_risk": dict(sorted(bands.items())),
    }


def customer_clv_promote(*, candidate_id: int | None) -> tuple[int | None, bool]:
    """After every chunk is scored: activate the candidate if it beats the active version on the backtest
    (as before the fan-out); returns (candidate version number, promoted)."""
    from ecomops.models import ModelVersion
    from ecomops.registry import model_version_promote_if_better

    if candidate_id is None:
        return None, False
    version = ModelVersion.objects.select_related("registered_model").get(pk=candidate_id)
    return version.version, model_version_promote_if_better(version=version)


def customer_scores_recompute(*, as_of: date, holdout_weeks: int = 13, refit: bool = True, job=None) -> ClvResult:
    """The whole CLV pass in this process (the jobs fan the scoring out instead, see ``catalog/jobs.py``):
    fit and register (``customer_clv_fit``), score every buying customer with the version that will be active
    (``customer_scores_write``), then promote the candidate if it beats the active one. ``refit=False`` only
    re-scores with the active version (new purchases, same parameters). Raises ValueError when the history
    cannot support the model."""
    from ecomops.models import ModelVersion

    fit = customer_clv_fit(as_of=as_of, holdout_weeks=holdout_weeks, refit=refit, job=job)
    scored = customer_scores_write(as_of=as_of, version_id=fit.scoring_version_id)
    number, promoted = customer_clv_promote(candidate_id=fit.candidate_id)
    if number is None:
        number = ModelVersion.objects.values_list("version", flat=True).get(pk=fit.scoring_version_id)
    return ClvResult(
        as_of=as_of, customers_scored=scored["customers"], version=number, promoted=promoted, metrics=fit.metrics
    )


def _money(value: float) -> Decimal:
    if not math.isfinite(float(value)):
        return Decimal("0.00")
    return Decimal(str(round(float(value), 2)))


# --- Recommendations ------------------------------------------------------------------------------------------

_AVAILABILITY_FILTER: Callable[[set[int]], set[int]] | None = None


def availability_filter_register(func: Callable[[set[int]], set[int]] | None) -> None:
    """Let the inventory app say which products are available: ``func(product_ids) -> available ids``."""
    global _AVAILABILITY_FILTER
    _AVAILABILITY_FILTER = func


def products_available(product_ids: Iterable[int]) -> set[int]:
    """The subset of ``product_ids`` that can be recommended: active, and not out of stock.

    Out of stock = the product has stock rows and none has on_hand - reserved > 0. Products without stock
    rows (not stocked by us) are available."""
    ids = set(product_ids)
    if not ids:
        return set()
    ids = set(Product.objects.filter(pk__in=ids, status=Product.Status.ACTIVE).values_list("pk", flat=True))
    if _AVAILABILITY_FILTER is not None:
        return set(_AVAILABILITY_FILTER(ids))
    try:
        StockLevel = apps.get_model("inventory", "StockLevel")
    except LookupError:
        return ids
    stocked = StockLevel.objects.filter(product_id__in=ids).values("product_id").annotate(n=Count("pk")).order_by()
    stocked_ids = {row["product_id"] for row in stocked}
    from django.db.models import F

    in_stock = set(
        StockLevel.objects.filter(product_id__in=stocked_ids, on_hand__gt=F("reserved"))
        .values_list("product_id", flat=True)
        .distinct()
    )
    return (ids - stocked_ids) | in_stock


@dataclass(frozen=True)
class RecommendationsResult:
    customers: int
    products: int
    associations: int
    version: int
    promoted: bool
    metrics: dict


def recommendations_train_and_store(
    *, as_of: date | None = None, job=None, l2: float | None = None
) -> RecommendationsResult:
    """Train EASE on purchase history, backtest it against most-popular (75/25 per-customer split), register
    the version, and when it becomes active replace the stored top-N per customer, 'bought together' pairs
    (from orders as baskets) and popular-per-category lists. Requests only read these tables."""
    from catalog.ml.recommend import (
        EaseRecommender,
        Interactions,
        bought_together,
        popular_items,
        ranking_metrics,
        split_per_user,
    )
    from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register
    from ecomops.torch_device import torch_device

    as_of = as_of or timezone.now().date()
    history = purchase_history(until=as_of)
    if history.empty:
        raise ValueError(f"no purchases up to {as_of}: nothing to train on")
    interactions = (
        history[["customer", "product"]].drop_duplicates().rename(columns={"customer": "user", "product": "item"})
    )
    density = len(interactions) / max(interactions["user"].nunique(), 1)
    l2 = l2 if l2 is not None else float(np.clip(density * 4, 20, 500))
    device = str(torch_device()) if len(interactions["item"].unique()) > 3000 else "cpu"

    train, test = split_per_user(interactions)
    relevant = test.groupby("user")["item"].apply(set).to_dict()
    metrics: dict = {"customers": int(interactions["user"].nunique()), "products": int(interactions["item"].nunique())}
    if relevant:
        n_items = interactions["item"].nunique()
        backtest = EaseRecommender(l2=l2, device=device).fit(train)
        users = np.array(sorted(relevant))
        data = Interactions.from_frame(train[train["user"].isin(users)], items=backtest.items_)
        top = popular_items(train, n=60)
        seen = train.groupby("user")["item"].apply(set).to_dict()
        pop = {u: [i for i in top if i not in seen.get(u, set())][:10] for u in relevant}
        pos = backtest.recommend_many(data.matrix, n=10)
        row_of = {u: i for i, u in enumerate(data.users)}
        ease = {u: _ranked_items(backtest, pos[row_of[u]]) if u in row_of else pop[u] for u in relevant}
        scored = ranking_metrics(ease, relevant, n_items=n_items)
        baseline = ranking_metrics(pop, relevant, n_items=n_items)
        metrics.update({k: v for k, v in scored.items()})
        metrics.update({f"popular_{k}": v for k, v in baseline.items() if k != "users"})
    else:
        metrics["precision@10"] = 0.0

    model = EaseRecommender(l2=l2, device=device).fit(interactions)
    spec = ModelSpec(
        name=RECOMMENDATIONS_SPEC_NAME,
        primary_metric="precision@10",
        higher_is_better=True,
        description="EASE item-item recommendations, bought-together pairs and popular-per-category lists.",
    )
    trained = TrainedModel(
        algorithm="EASE (closed-form item-item autoencoder)",
        artifact={"l2": l2, "items": [int(i) for i in model.items_]},
        metrics=metrics,
        parameters={"l2": l2, "stored_per_customer": STORED_RECOMMENDATIONS},
        as_of=as_of,
        device=device,
    )
    version = model_version_register(spec=spec, trained=trained, job=job)
    promoted = model_version_promote_if_better(version=version)
    if not promoted:
        return RecommendationsResult(0, 0, 0, version.version, False, metrics)

    data = Interactions.from_frame(interactions, items=model.items_)
    positions, scores = model.recommend_many(
        data.matrix, n=STORED_RECOMMENDATIONS, return_scores=True, fill_popular=False
    )
    recs = []
    for row, customer_id in enumerate(data.users):
        rank = 0
        for pos, score in zip(positions[row], scores[row], strict=True):
            if not score > 0:  # seen items are -inf; non-positive scores carry no evidence
                continue
            rank += 1
            recs.append(
                CustomerRecommendation(
                    customer_id=int(customer_id),
                    product_id=int(model.items_[pos]),
                    rank=rank,
                    score=float(score),
                    model_version=version,
                )
            )
    baskets = history[["order", "product"]].rename(columns={"order": "basket", "product": "item"})
    pairs = bought_together(baskets, min_count=1, top_n=10)
    assoc = []
    for item, group in pairs.groupby("item", sort=False):
        for rank, pair in enumerate(group.itertuples(index=False), start=1):
            assoc.append(
                ProductAssociation(
                    product_id=int(item),
                    other_id=int(pair.other),
                    rank=rank,
                    count=int(pair.count),
                    confidence=float(pair.confidence),
                    lift=float(pair.lift),
                    model_version=version,
                )
            )
    popular = _popular_rows(interactions)
    with transaction.atomic():
        CustomerRecommendation.objects.all().delete()
        ProductAssociation.objects.all().delete()
        PopularProduct.objects.all().delete()
        CustomerRecommendation.objects.bulk_create(recs, batch_size=5000)
        ProductAssociation.objects.bulk_create(assoc, batch_size=5000)
        PopularProduct.objects.bulk_create(popular, batch_size=5000)
    logger.info("recommendations v%d: %d customer rows, %d pairs", version.version, len(recs), len(assoc))
    return RecommendationsResult(len(data.users), len(model.items_), len(assoc), version.version, True, metrics)


def _ranked_items(model, positions: np.ndarray) -> list:
    """The item ids at ``positions`` of a ``recommend_many`` row, its empty places (-1) left out."""
    return list(model.items_[positions[positions >= 0]])


def _popular_rows(interactions: pd.DataFrame, *, overall: int = 50, per_category: int = 20) -> list[PopularProduct]:
    buyers = interactions.groupby("item")["user"].nunique().rename("buyers").reset_index()
    categories = dict(Product.objects.filter(pk__in=buyers["item"].tolist()).values_list("pk", "category_id"))
    buyers["category"] = buyers["item"].map(categories)
    buyers = buyers.sort_values(["buyers", "item"], ascending=[False, True], kind="stable")
    rows = [
        PopularProduct(category_id=None, product_id=int(r.item), rank=rank, buyers=int(r.buyers))
        for rank, r in enumerate(buyers.head(overall).itertuples(index=False), start=1)
    ]
    for category, group in buyers.dropna(subset=["category"]).groupby("category", sort=True):
        rows += [
            PopularProduct(category_id=int(category), product_id=int(r.item), rank=rank, buyers=int(r.buyers))
            for rank, r in enumerate(group.head(per_category).itertuples(index=False), start=1)
        ]
    return rows


@dataclass(frozen=True)
class Recommended:
    """One recommended product with what a page shows of it (read in the same query as the ranking)."""

    product_id: int
    score: float
    reason: str  # personalised | bought_together | popular_in_category | popular
    sku: str = ""
    name: str = ""
    category: str | None = None
    list_price: Decimal | None = None


def _shown(prefix: str) -> tuple[str, ...]:
    """The product columns a recommendation carries, read as plain values (no model objects per row)."""
    return (
        f"{prefix}__sku",
        f"{prefix}__name",
        f"{prefix}__category__name_en",
        f"{prefix}__category__name",
        f"{prefix}__list_price",
    )


def _rec(product_id: int, score: float, reason: str, shown) -> Recommended:
    sku, name, category_en, category, list_price = shown
    # the category as str(Category) shows it: its English name when it has one
    return Recommended(product_id, float(score), reason, sku, name, category_en or category, list_price)


def _recommendable(queryset, field: str):
    """Keep rows whose ``field`` product is active and not out of stock, in SQL (one query, no extra round
    trip) unless the inventory app registered its own availability hook."""
    queryset = queryset.filter(**{f"{field}__status": Product.Status.ACTIVE})
    if _AVAILABILITY_FILTER is not None:
        return queryset
    try:
        StockLevel = apps.get_model("inventory", "StockLevel")
    except LookupError:
        return queryset
    from django.db.models import Exists, F, OuterRef, Q

    stocked = StockLevel.objects.filter(product_id=OuterRef(field))
    in_stock = StockLevel.objects.filter(product_id=OuterRef(field), on_hand__gt=F("reserved"))
    return queryset.filter(Q(~Exists(stocked)) | Q(Exists(in_stock)))


def _take(queryset, limit: int):
    """At most ``limit`` rows from SQL when availability is decided there; all of them when the inventory
    hook filters afterwards (it may drop some)."""
    return queryset[:limit] if _AVAILABILITY_FILTER is None else queryset


def _hooked(rows: list[Recommended]) -> list[Recommended]:
    if _AVAILABILITY_FILTER is None:
        return rows
    available = set(_AVAILABILITY_FILTER({r.product_id for r in rows}))
    return [r for r in rows if r.product_id in available]


def _bought_products(customer: Customer):
    OrderLine = apps.get_model("orders", "OrderLine")
    return OrderLine.objects.filter(order__customer=customer).values("product_id")


def _popular(category_ids: list[int | None], *, exclude: set[int], exclude_query=None, limit: int) -> list[Recommended]:
    """Best-sellers of the given categories in that order (``None`` = overall), read in ONE query whatever
    the number of categories, skipping ``exclude`` and what ``exclude_query`` selects."""
    from django.db.models import Q

    wanted = [c for c in category_ids if c is not None]
    where = Q(category_id__in=wanted) if wanted else Q(pk__in=[])
    if None in category_ids:
        where |= Q(category__isnull=True)
    rows = PopularProduct.objects.filter(where).exclude(product_id__in=exclude)
    if exclude_query is not None:
        rows = rows.exclude(product_id__in=exclude_query)
    rows = _recommendable(rows, "product").values_list(
        "category_id", "rank", "product_id", "buyers", *_shown("product")
    )
    # the stored lists are short (``_popular_rows``: 50 overall, 20 per category), so read them whole
    order = {c: i for i, c in enumerate(category_ids)}
    ranked = sorted(rows, key=lambda r: (order[r[0]], r[1]))
    found = _hooked(
        [
            _rec(pid, buyers, "popular" if cat is None else "popular_in_category", shown)
            for cat, _rank, pid, buyers, *shown in ranked
        ]
    )
    out: list[Recommended] = []
    for rec in found:
        if rec.product_id not in exclude and len(out) < limit:
            out.append(rec)
            exclude.add(rec.product_id)
    return out


def customer_recommendations(*, customer: Customer, limit: int = 10) -> list[Recommended]:
    """Stored personalised recommendations, minus products the customer has bought since training and
    products inactive or out of stock (filtered in the same query), topped up with popular products of the
    categories the customer buys from, then with overall best-sellers (cold start). At most three queries."""
    bought = _bought_products(customer)
    stored = CustomerRecommendation.objects.filter(customer=customer).exclude(product_id__in=bought).order_by("rank")
    stored = _recommendable(stored, "product").values_list("product_id", "score", *_shown("product"))
    out = _hooked([_rec(pid, score, "personalised", shown) for pid, score, *shown in _take(stored, limit)])
    out = out[:limit]
    if len(out) < limit:
        categories = list(
            Product.objects.filter(pk__in=bought, category__isnull=False)
            .values("category_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "category_id")
            .values_list("category_id", flat=True)
        )
        exclude = {r.product_id for r in out}
        out += _popular([*categories, None], exclude=exclude, exclude_query=bought, limit=limit - len(out))
    return out


def product_bought_together(*, product: Product, limit: int = 10) -> list[Recommended]:
    """Products most often in the same order as ``product`` (active, in stock), topped up with popular
    products of its category. At most two queries."""
    rows = _recommendable(ProductAssociation.objects.filter(product=product), "other").order_by("rank")
    rows = rows.values_list("other_id", "confidence", *_shown("other"))
    out = _hooked([_rec(pid, conf, "bought_together", shown) for pid, conf, *shown in _take(rows, limit)])
    out = out[:limit]
    if len(out) < limit and product.category_id:
        exclude = {product.pk} | {r.product_id for r in out}
        out += _popular([product.category_id], exclude=exclude, limit=limit - len(out))
    return out


# --- Audiences and campaigns ---------------------------------------------------------------------------------


def control_split(customer_ids: Iterable[int], *, fraction: float, seed: int) -> set[int]:
    """The control group: a seeded random ``fraction`` (rounded) of the ids; the same ids and seed always
    give the same group, whatever order the ids come in."""
    ids = np.array(sorted(set(customer_ids)), dtype=np.int64)
    n_control = int(round(len(ids) * fraction))
    rng = np.random.default_rng(seed)
    return {int(i) for i in rng.permutation(ids)[:n_control]}


def audience_create(
    *,
    name: str,
    source: str,
    criterion: str,
    campaign_start: date,
    control_fraction: float = 0.1,
    seed: int = 0,
    snapshot_date: date | None = None,
    user=None,
) -> CampaignAudience:
    """Select the customers of an RFM segment (latest snapshot unless ``snapshot_date``) or a churn-risk band
    and store them as an audience with a seeded random control group. Raises ValueError naming the field."""
    if not name.strip():
        raise ValueError("name: must not be empty")
    if CampaignAudience.objects.filter(name=name).exists():
        raise ValueError(f"name: an audience called {name!r} already exists")
    if not 0 <= control_fraction < 1:
        raise ValueError(f"control_fraction: must be in [0, 1), got {control_fraction}")
    if source == CampaignAudience.Source.SEGMENT:
        if criterion not in CustomerSegment.values:
            raise ValueError(
                f"criterion: unknown segment {criterion!r}; choose one of {', '.join(CustomerSegment.values)}"
            )
        snapshot_date = snapshot_date or CustomerSegmentSnapshot.objects.aggregate(d=Max("as_of"))["d"]
        if snapshot_date is None:
            raise ValueError("criterion: no RFM snapshot exists yet; run the train:customers job first")
        ids = CustomerSegmentSnapshot.objects.filter(as_of=snapshot_date, segment=criterion).values_list(
            "customer_id", flat=True
        )
    elif source == CampaignAudience.Source.CHURN_RISK:
        if criterion not in CustomerScore.ChurnRisk.values:
            raise ValueError(
                f"criterion: unknown churn-risk band {criterion!r}; choose one of {', '.join(CustomerScore.ChurnRisk.values)}"
            )
        snapshot_date = None
        ids = CustomerScore.objects.filter(churn_risk=criterion).values_list("customer_id", flat=True)
    else:
        raise ValueError(f"source: must be one of {', '.join(CampaignAudience.Source.values)}, got {source!r}")
    ids = sorted(set(ids))
    if not ids:
        raise ValueError(f"criterion: no customer is in {source} {criterion!r}")
    control = control_split(ids, fraction=control_fraction, seed=seed)
    with transaction.atomic():
        audience = CampaignAudience.objects.create(
            name=name,
            source=source,
            criterion=criterion,
            snapshot_date=snapshot_date,
            control_fraction=control_fraction,
            seed=seed,
            campaign_start=campaign_start,
            created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        )
        AudienceMember.objects.bulk_create(
            [AudienceMember(audience=audience, customer_id=i, is_control=i in control) for i in ids], batch_size=5000
        )
    return audience


AUDIENCE_CSV_COLUMNS = ["customer_id", "external_id", "name", "email", "group"]


def audience_csv(*, audience: CampaignAudience, include_control: bool = False, personal_data: bool = True) -> str:
    """The audience as CSV (``AUDIENCE_CSV_COLUMNS``); the control group is left out unless asked for, so
    a campaign tool given this file never contacts it. Without ``personal_data`` names and e-mails are masked."""
    from access.pii import mask_email, mask_name

    members = audience.members.select_related("customer").order_by("customer_id")
    if not include_control:
        members = members.filter(is_control=False)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIENCE_CSV_COLUMNS)
    for m in members.iterator(chunk_size=5000):
        name, email = m.customer.name, m.customer.email
        if not personal_data:
            name, email = mask_name(name), mask_email(email)
        writer.writerow(
            [m.customer_id, m.customer.external_id, name, email, "control" if m.is_control else "treatment"]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class GroupOutcome:
    customers: int
    buyers: int
    orders: int
    revenue: float

    @property
    def conversion(self) -> float:
        return self.buyers / self.customers if self.customers else 0.0

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class AudienceEffect:
    """Treatment vs control after the campaign start; differences with 95 % normal-approximation intervals."""

    start: date
    end: date
    treatment: GroupOutcome
    control: GroupOutcome
    conversion_lift: float
    conversion_ci: tuple[float, float]
    revenue_lift_per_customer: float
    revenue_ci: tuple[float, float]


def audience_effect(*, audience: CampaignAudience, end: date | None = None) -> AudienceEffect:
    """Orders and revenue per member from ``campaign_start`` to ``end`` (default campaign_end or today),
    treatment minus control, with Welch / two-proportion 95 % intervals."""
    OrderLine = apps.get_model("orders", "OrderLine")
    end = end or audience.campaign_end or timezone.now().date()
    if end < audience.campaign_start:
        raise ValueError(f"end: {end} is before the campaign start {audience.campaign_start}")
    members = dict(audience.members.values_list("customer_id", "is_control"))
    if not members:
        raise ValueError("audience: has no members")
    start_at = datetime.combine(audience.campaign_start, time.min, tzinfo=UTC)
    rows = (
        OrderLine.objects.filter(
            order__customer_id__in=list(members),
            order__purchased_at__gte=start_at,
            order__purchased_at__lt=_cutoff(end),
        )
        .exclude(order__status__in=EXCLUDED_ORDER_STATUSES)
        .values_list("order__customer_id", "order_id", "quantity", "unit_price")
        .order_by()
    )
    frame = pd.DataFrame(list(rows), columns=["customer", "order", "quantity", "unit_price"])
    per = pd.DataFrame({"customer": list(members), "is_control": list(members.values())}).set_index("customer")
    if frame.empty:
        per["orders"], per["revenue"] = 0, 0.0
    else:
        frame["amount"] = frame["quantity"].astype(float) * frame["unit_price"].astype(float)
        agg = frame.groupby("customer").agg(orders=("order", "nunique"), revenue=("amount", "sum"))
        per = per.join(agg).fillna({"orders": 0, "revenue": 0.0})

    def outcome(group: pd.DataFrame) -> GroupOutcome:
        return GroupOutcome(
            len(group),
            int((group["orders"] > 0).sum()),
            int(group["orders"].sum()),
            round(float(group["revenue"].sum()), 2),
        )

    treated, control = per[~per["is_control"]], per[per["is_control"]]
    t, c = outcome(treated), outcome(control)
    z = 1.959964
    conv = t.conversion - c.conversion
    conv_se = math.sqrt(
        (t.conversion * (1 - t.conversion) / t.customers if t.customers else 0.0)
        + (c.conversion * (1 - c.conversion) / c.customers if c.customers else 0.0)
    )
    rev = t.revenue_per_customer - c.revenue_per_customer
    rev_se = math.sqrt(
        (float(treated["revenue"].var(ddof=1)) / len(treated) if len(treated) > 1 else 0.0)
        + (float(control["revenue"].var(ddof=1)) / len(control) if len(control) > 1 else 0.0)
    )
    return AudienceEffect(
        start=audience.campaign_start,
        end=end,
        treatment=t,
        control=c,
        conversion_lift=conv,
        conversion_ci=(conv - z * conv_se, conv + z * conv_se),
        revenue_lift_per_customer=rev,
        revenue_ci=(rev - z * rev_se, rev + z * rev_se),
    )


# --- Customer page ---------------------------------------------------------------------------------------------


def customer_analytics(*, customer: Customer) -> dict:
    """What the admin page and the API show for one customer: latest segment, CLV / churn, segment history."""
    latest = customer.segment_snapshots.order_by("-as_of").first()
    score = CustomerScore.objects.filter(customer=customer).first()
    return {
        "segment": latest.segment if latest else None,
        "segment_label": latest.get_segment_display() if latest else None,
        "segment_as_of": latest.as_of if latest else None,
        "rfm": latest.rfm_code if latest else None,
        "recency_days": latest.recency_days if latest else None,
        "frequency": latest.frequency if latest else None,
        "monetary": latest.monetary if latest else None,
        "probability_alive": score.probability_alive if score else None,
        "churn_propensity": score.churn_propensity if score else None,
        "churn_risk": score.churn_risk if score else None,
        "expected_purchases_90d": score.expected_purchases_90d if score else None,
        "expected_average_spend": score.expected_average_spend if score else None,
        "clv_12m": score.clv_12m if score else None,
        "score_as_of": score.as_of if score else None,
        "segment_history": list(customer.segment_snapshots.order_by("as_of").values("as_of", "segment")),
    }


def categories_with_popular() -> list[Category]:
    return list(Category.objects.filter(pk__in=PopularProduct.objects.values("category_id")).order_by("name"))

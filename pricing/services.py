"""Writes of the pricing app: train the price-response model, recommend prices, decide and apply them,
record competitor prices and raise alerts. Every price change is audited."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from ecomops.models import ModelVersion
from ecomops.registry import (
    ModelSpec,
    TrainedModel,
    model_version_load,
    model_version_promote_if_better,
    model_version_register,
)
from inventory.models import Location

from . import selectors
from .ml.optimiser import PricingInput, optimise_price
from .ml.response import Z95, PriceResponseModel, PriceResponseParams, select_params
from .models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    PricingRule,
)

logger = logging.getLogger(__name__)

PRICE_RESPONSE_SPEC = ModelSpec(
    name="price_response",
    primary_metric="holdout_r2",
    higher_is_better=True,
    description="Hierarchical log-log price response (own / cross price, promotions, season, EB pooling).",
)


class PricingError(Exception):
    """A pricing operation cannot be done; the message says why."""


class RecommendationStateError(PricingError):
    """The recommendation is not in a state that allows the requested decision."""


# --------------------------------------------------------------------------- training


def price_response_train(
    *, as_of: date, select: bool = True, job=None, log: Callable[[str], None] | None = None
) -> ModelVersion:
    """Fit the price-response model on sales strictly before ``as_of``, register it as a version (promoted when it
    beats the active one on its inner time holdout) and store its elasticities."""
    log = log or (lambda message: logger.info(message))
    history = selectors.sales_history(until=as_of)
    if history.empty or (history["units"] > 0).sum() < 10:
        raise PricingError(f"not enough sales history with prices before {as_of} to fit a price-response model")
    log(
        f"history: {len(history)} rows, {history['product'].nunique()} products, {history['location'].nunique()} locations"
    )
    candidates = None if select else [PriceResponseParams()]
    params, scored = select_params(history, candidates=candidates)
    holdout = dict(scored).get(params) if scored else None
    log(f"parameters: season order {params.fourier_order}, substitutes {params.n_substitutes}, holdout R2 {holdout}")
    model = PriceResponseModel(params).fit(history)
    rows = model.elasticities()
    product_rows = [r for r in rows if r.location is None]
    metrics = {
        "holdout_r2": holdout,
        "n_obs": int(model.n_obs_),
        "products": len(product_rows),
        "series": len(rows) - len(product_rows),
        "positive_elasticities": sum(r.elasticity > 0 for r in rows),
        "candidates": [
            {"fourier_order": p.fourier_order, "n_substitutes": p.n_substitutes, "r2": s} for p, s in scored
        ],
    }
    version = model_version_register(
        spec=PRICE_RESPONSE_SPEC,
        trained=TrainedModel(
            algorithm="hierarchical log-log, empirical-Bayes pooling",
            artifact=model,
            metrics=metrics,
            parameters=asdict(params),
            explanation={r.product: {"elasticity": r.elasticity, "low": r.low, "high": r.high} for r in product_rows},
            data_start=_aware(model.data_start_),
            data_end=_aware(model.data_end_),
            as_of=as_of,
        ),
        job=job,
    )
    _elasticities_store(version=version, model=model, rows=rows)
    promoted = model_version_promote_if_better(version=version)
    log(f"registered {version} ({'active' if promoted else 'candidate'})")
    return version


def _aware(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return timezone.make_aware(datetime.combine(pd.Timestamp(value).date(), time.min))


def _elasticities_store(*, version: ModelVersion, model: PriceResponseModel, rows) -> int:
    products = dict(Product.objects.filter(sku__in={r.product for r in rows}).values_list("sku", "pk"))
    locations = dict(
        Location.objects.filter(code__in={r.location for r in rows if r.location}).values_list("code", "pk")
    )
    objects = []
    for r in rows:
        if r.product not in products or (r.location is not None and r.location not in locations):
            continue
        objects.append(
            ElasticityEstimate(
                product_id=products[r.product],
                location_id=locations.get(r.location) if r.location else None,
                model_version=version,
                elasticity=r.elasticity,
                low=r.low,
                high=r.high,
                n_obs=r.n_obs,
                flags=list(r.flags),
                explanation=r.explanation,
                cross_elasticities=model.cross_elasticities(r.product) if r.location is None else {},
            )
        )
    ElasticityEstimate.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


def price_response_version_for(*, as_of: date, train_if_missing: bool = True, select: bool = True) -> ModelVersion:
    """The newest version trained with data before exactly ``as_of`` (so no later data leaks in), else a new one."""
    version = (
        ModelVersion.objects.filter(registered_model__name=PRICE_RESPONSE_SPEC.name, as_of=as_of)
        .order_by("-version")
        .first()
    )
    if version is not None:
        return version
    if not train_if_missing:
        raise PricingError(f"no price-response model trained as of {as_of}")
    return price_response_train(as_of=as_of, select=select)


# ----------------------------------------------------------------------- recommendations


@dataclass
class RecommendationRun:
    """What a recommendation run produced and what it skipped, with reasons."""

    created: list[PriceRecommendation] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # sku, location, reason


def _unit_cost(product: Product, price: Decimal, rule: PricingRule, margin: float | None) -> tuple[float | None, bool]:
    """(unit cost, assumed?): the product's recorded cost, else the cost implied by ``margin``, the gross margin %
    of the series' latest point-of-sale week (``selectors.last_margins``), else the rule's assumed share of the
    current price (None when the rule has none)."""
    if product.unit_cost is not None and product.unit_cost > 0:
        return float(product.unit_cost), False
    # scanner data (Dominick's) carries the gross margin % of each week instead of a unit cost
    if margin is not None and 0 < margin < 100:
        return float(price) * (1 - margin / 100), False
    if rule.assumed_cost_share is not None and rule.assumed_cost_share > 0:
        return float(price) * float(rule.assumed_cost_share), True
    return None, False


def price_recommendations_create(
    *, as_of: date, version: ModelVersion, effective_from: date | None = None, skus: list[str] | None = None
) -> RecommendationRun:
    """Recommend a price for every (product, location) series the model knows, from data before ``as_of``.

    Open proposals of the same series are superseded. Series without a price in force or a unit cost are
    skipped with the reason."""
    model: PriceResponseModel = model_version_load(version=version)
    effective_from = effective_from or as_of
    keys = sorted(model.series_)
    if skus is not None:
        keys = [k for k in keys if k[0] in set(skus)]
    products = {p.sku: p for p in Product.objects.filter(sku__in={k[0] for k in keys}).select_related("category")}
    locations = {loc.code: loc for loc in Location.objects.filter(code__in={k[1] for k in keys})}
    run = RecommendationRun()
    found = []
    for sku, code in keys:
        product, location = products.get(sku), locations.get(code)
        if product is None or location is None:
            run.skipped.append((sku, code, "product or location no longer exists"))
            continue
        found.append((product, location))
    # the reads each series needs, a few queries for all of them (not several per series)
    prices = selectors.prices_in_force(series=found, on=as_of - timedelta(days=1))
    margins = selectors.last_margins(series=found, before=as_of)
    competitors = selectors.competitor_reference_prices(products=[p for p, _ in found], before=as_of)
    stocks = selectors.stocks_available(series=found)
    prepared = []
    for product, location in found:
        price = prices[(product.pk, location.pk)]
        if price is None or price <= 0:
            run.skipped.append((product.sku, location.code, "no price in force"))
            continue
        prepared.append((product, location, price))
    if not prepared:
        return run
    frame = pd.DataFrame(
        {
            "product": [p.sku for p, _, _ in prepared],
            "location": [loc.code for _, loc, _ in prepared],
            "category": [p.category.name if p.category else "uncategorised" for p, _, _ in prepared],
            "period_start": pd.Timestamp(as_of),
            "price": [float(price) for _, _, price in prepared],
        }
    )
    planned = _promotion_kinds(on=effective_from, keys=[(p.pk, loc.pk) for p, loc, _ in prepared])
    for column in ("display", "feature", "discount"):
        frame[column] = [float(column in kinds) for kinds in planned]
    expected_units = model.predict_units(frame)
    rules_cache: dict = {}
    objects = []
    for (product, location, price), units in zip(prepared, expected_units, strict=True):
        category_id = product.category_id
        if category_id not in rules_cache:
            rule = selectors.pricing_rule_for(category=product.category)
            rules_cache[category_id] = (rule, selectors.pricing_rules_as_ml(rule))
        rule, rules = rules_cache[category_id]
        cost, cost_assumed = _unit_cost(product, price, rule, margins.get((product.pk, location.pk)))
        if cost is None:
            run.skipped.append((product.sku, location.code, "no unit cost (and no assumed cost share in its rule)"))
            continue
        if not np.isfinite(units):
            run.skipped.append((product.sku, location.code, "model cannot predict this series"))
            continue
        series = model.series_[(product.sku, location.code)]
        se = math.sqrt(max(series.own_var, 0.0))
        low, high = series.own - Z95 * se, series.own + Z95 * se
        if high >= 0 and high - low > model.params.wide_interval:
            # Nothing to optimise on: with an elasticity anywhere in [-2.8, +2.8] (a marketplace product selling one
            # unit in the weeks it sells at all) the profit optimum is "as high as the step rule allows" for every
            # such series, which is the width of the interval speaking, not the data.
            run.skipped.append(
                (
                    product.sku,
                    location.code,
                    f"elasticity not identified: 95% interval [{low:.2f}, {high:.2f}] is wider than "
                    f"{model.params.wide_interval:g} and does not exclude demand rising with price",
                )
            )
            continue
        competitor = competitors[product.pk]
        inp = PricingInput(
            current_price=float(price),
            unit_cost=cost,
            elasticity=series.own,
            expected_units=float(units),
            competitor_price=float(competitor) if competitor is not None else None,
            stock_available=stocks.get((product.pk, location.pk)),
        )
        rec = optimise_price(inp, rules)
        objects.append(
            PriceRecommendation(
                product=product,
                location=location,
                model_version=version,
                as_of=as_of,
                effective_from=effective_from,
                current_price=Decimal(price),
                recommended_price=_money(rec.price),
                unit_cost=_money(cost),
                cost_assumed=cost_assumed,
                competitor_price=competitor,
                elasticity=series.own,
                elasticity_low=series.own - Z95 * se,
                elasticity_high=series.own + Z95 * se,
                expected_units_current=rec.current.units,
                expected_units=rec.recommended.units,
                expected_revenue_current=rec.current.revenue,
                expected_revenue=rec.recommended.revenue,
                expected_profit_current=rec.current.profit,
                expected_profit=rec.recommended.profit,
                binding_rule=rec.binding_rule[:64],
                demand_curve=[
                    {"price": round(o.price, 4), "units": o.units, "revenue": o.revenue, "profit": o.profit}
                    for o in rec.curve
                ],
            )
        )
    with transaction.atomic():
        new = {(obj.product_id, obj.location_id) for obj in objects}
        superseded = []
        for ids in selectors.id_chunks(pid for pid, _ in new):
            open_ = PriceRecommendation.objects.filter(
                product_id__in=ids, status=PriceRecommendation.Status.PROPOSED
            ).values_list("pk", "product_id", "location_id")
            superseded += [pk for pk, pid, lid in open_ if (pid, lid) in new]
        for pks in selectors.id_chunks(superseded):
            PriceRecommendation.objects.filter(pk__in=pks).update(status=PriceRecommendation.Status.SUPERSEDED)
        run.created = PriceRecommendation.objects.bulk_create(objects, batch_size=500)
    return run


def _promotion_kinds(*, on: date, keys: list[tuple[int, int]]) -> list[set[str]]:
    """Kinds of the promotions planned on day ``on`` for each (product id, location id); a promotion without a
    location runs everywhere."""
    from .models import Promotion

    rows = Promotion.objects.filter(
        product_id__in={product_id for product_id, _ in keys}, starts_on__lte=on, ends_on__gte=on
    ).values_list("product_id", "location_id", "kind")
    kinds: dict[tuple[int, int | None], set[str]] = {}
    for product_id, location_id, kind in rows:
        kinds.setdefault((product_id, location_id), set()).add(kind)
    return [kinds.get((p, loc), set()) | kinds.get((p, None), set()) for p, loc in keys]


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- decisions


def _audit(**fields) -> PriceChangeAudit:
    return PriceChangeAudit.objects.create(**fields)


@transaction.atomic
def price_recommendation_approve(
    *, recommendation_id: int, user, reason: str = "", effective_from: date | None = None
) -> PriceRecommendation:
    """Approve a proposed recommendation and apply it as a planned price from ``effective_from``.

    The status moves only from ``proposed`` (row lock plus a conditional update), so two analysts approving at
    once create exactly one price row; the second gets :class:`RecommendationStateError`."""
    rec = PriceRecommendation.objects.select_for_update().filter(pk=recommendation_id).first()
    if rec is None:
        raise PricingError(f"recommendation {recommendation_id} does not exist")
    now = timezone.now()
    claimed = PriceRecommendation.objects.filter(pk=rec.pk, status=PriceRecommendation.Status.PROPOSED).update(
        status=PriceRecommendation.Status.APPROVED, decided_by=user, decided_at=now, reason=reason[:255]
    )
    if not claimed:
        rec.refresh_from_db()
        raise RecommendationStateError(f"recommendation {rec.pk} is {rec.status}; only a proposed one can be approved")
    rec.refresh_from_db()
    start = effective_from or max(rec.effective_from, timezone.localdate())
    _audit(
        product=rec.product,
        location=rec.location,
        action="approved",
        from_price=rec.current_price,
        to_price=rec.recommended_price,
        effective_from=start,
        changed_by=user,
        reason=reason[:255],
        recommendation=rec,
    )
    price_row = price_plan(
        product=rec.product,
        location=rec.location,
        price=rec.recommended_price,
        effective_from=start,
        user=user,
        reason=reason or f"recommendation {rec.pk} ({rec.binding_rule})",
        source=PriceHistory.Source.RECOMMENDATION,
        recommendation=rec,
    )
    PriceRecommendation.objects.filter(pk=rec.pk).update(
        status=PriceRecommendation.Status.APPLIED, applied_price=price_row
    )
    rec.refresh_from_db()
    return rec


@transaction.atomic
def price_recommendation_reject(*, recommendation_id: int, user, reason: str) -> PriceRecommendation:
    """Reject a proposed recommendation (a reason is required)."""
    if not reason.strip():
        raise PricingError("a reason is required to reject a recommendation")
    claimed = PriceRecommendation.objects.filter(
        pk=recommendation_id, status=PriceRecommendation.Status.PROPOSED
    ).update(
        status=PriceRecommendation.Status.REJECTED, decided_by=user, decided_at=timezone.now(), reason=reason[:255]
    )
    rec = PriceRecommendation.objects.filter(pk=recommendation_id).first()
    if rec is None:
        raise PricingError(f"recommendation {recommendation_id} does not exist")
    if not claimed:
        raise RecommendationStateError(f"recommendation {rec.pk} is {rec.status}; only a proposed one can be rejected")
    _audit(
        product=rec.product,
        location=rec.location,
        action="rejected",
        from_price=rec.current_price,
        to_price=rec.recommended_price,
        changed_by=user,
        reason=reason[:255],
        recommendation=rec,
    )
    return rec


@transaction.atomic
def price_plan(
    *,
    product: Product,
    location: Location | None,
    price: Decimal,
    effective_from: date,
    user=None,
    reason: str = "",
    source: str = PriceHistory.Source.MANUAL,
    recommendation: PriceRecommendation | None = None,
) -> PriceHistory:
    """Set the price of a product (at a location) from a date on: a PriceHistory row (replacing one that starts
    the same day) and an audit row with the price it replaces."""
    if price is None or Decimal(price) <= 0:
        raise PricingError("price must be positive")
    before = selectors.price_in_force(product=product, location=location, on=effective_from)
    row = (
        PriceHistory.objects.select_for_update()
        .filter(product=product, location=location, effective_from=effective_from)
        .first()
    )
    if row is None:
        row = PriceHistory.objects.create(
            product=product,
            location=location,
            price=price,
            effective_from=effective_from,
            source=source,
            created_by=user,
            note=reason[:255],
        )
    else:
        row.price, row.source, row.created_by, row.note = price, source, user, reason[:255]
        row.save(update_fields=["price", "source", "created_by", "note", "updated_at"])
    today = timezone.localdate()
    if location is None and effective_from <= today:
        # Our own price moved: re-check it against each competitor's latest observation of the last 30 days.
        recent = CompetitorPrice.objects.filter(
            product=product, observed_at__gte=timezone.now() - timedelta(days=COMPETITOR_ALERT_WINDOW_DAYS)
        ).order_by("competitor", "-observed_at")
        latest = {}
        for observation in recent:
            latest.setdefault(observation.competitor, observation)
        for observation in latest.values():
            competitor_alert_check(competitor_price=observation, on=today)
    _audit(
        product=product,
        location=location,
        action="applied" if recommendation is not None else "manual",
        from_price=before,
        to_price=price,
        effective_from=effective_from,
        changed_by=user,
        reason=reason[:255],
        recommendation=recommendation,
        price_history=row,
    )
    return row


# --------------------------------------------------------------------------- competitors


COMPETITOR_ALERT_WINDOW_DAYS = 30


def competitor_price_record(
    *, product: Product, competitor: str, price: Decimal, observed_at: datetime, url: str = "", source: str = "api"
) -> tuple[CompetitorPrice, bool]:
    """Upsert one competitor observation (natural key product, competitor, observed_at) and check it for an alert."""
    if price is None or Decimal(price) <= 0:
        raise PricingError("competitor price must be positive")
    with transaction.atomic():
        observation, created = CompetitorPrice.objects.update_or_create(
            product=product,
            competitor=competitor.strip(),
            observed_at=observed_at,
            defaults={"price": price, "url": url, "source": source},
        )
        competitor_alert_check(competitor_price=observation)
    return observation, created


def competitor_alert_check(*, competitor_price: CompetitorPrice, on: date | None = None) -> CompetitorPriceAlert | None:
    """Open an alert when our price (on the observation day, or on ``on``) is more than the category threshold
    away from the competitor's; close an open one when it no longer is."""
    product = competitor_price.product
    day = on or timezone.localdate(competitor_price.observed_at)
    ours = selectors.price_in_force(product=product, location=None, on=day)
    if ours is None:
        return None
    rule = selectors.pricing_rule_for(category=product.category)
    gap = Decimal(ours) / Decimal(competitor_price.price) - 1
    if abs(gap) <= rule.alert_threshold:
        CompetitorPriceAlert.objects.filter(competitor_price=competitor_price, status="open").delete()
        return None
    alert, _ = CompetitorPriceAlert.objects.update_or_create(
        competitor_price=competitor_price,
        defaults={
            "product": product,
            "our_price": ours,
            "gap": gap.quantize(Decimal("0.0001")),
            "threshold": rule.alert_threshold,
            "direction": CompetitorPriceAlert.Direction.ABOVE if gap > 0 else CompetitorPriceAlert.Direction.BELOW,
        },
    )
    return alert


def competitor_alert_acknowledge(*, alert_ids: list[int]) -> int:
    return CompetitorPriceAlert.objects.filter(pk__in=alert_ids, status=CompetitorPriceAlert.Status.OPEN).update(
        status=CompetitorPriceAlert.Status.ACKNOWLEDGED
    )


def price_change_audit_record(*, price_row: PriceHistory, user=None, reason: str = "") -> PriceChangeAudit:
    """Audit a price row written outside :func:`price_plan` (CSV import), with the price it replaced."""
    previous = (
        PriceHistory.objects.filter(
            product=price_row.product, location=price_row.location, effective_from__lt=price_row.effective_from
        )
        .order_by("-effective_from")
        .values_list("price", flat=True)
        .first()
    )
    return _audit(
        product=price_row.product,
        location=price_row.location,
        action="import",
        from_price=previous,
        to_price=price_row.price,
        effective_from=price_row.effective_from,
        changed_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        reason=reason[:255],
        price_history=price_row,
    )

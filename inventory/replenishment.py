"""Replenishment services: suggestions from the demand forecast, draft purchase orders, planner approval.

Stock position = on hand (StockLevel) + open purchase-order quantity not yet received (draft, approved or
sent orders to that location). Supplier terms come from the preferred SupplierProduct (lead time and its
standard deviation, MOQ, pack size, unit cost); the target fill rate (share of demand served from stock)
from the product category's ServiceLevelTarget (default 0.95). Policy maths live in
``inventory.ml.replenishment``.

Demand uncertainty comes from the forecast's own errors: every earlier forecast (any demand model version,
issued in the last ``ERROR_LOOKBACK_DAYS``) whose protection interval (lead time + review period, from its
as-of date) has fully been observed before the as-of date is compared with the demand that was recorded
(order lines daily, point-of-sale weeks; a missing week drops that interval). The standardised errors are
pooled over all products and locations (one series has too few), each weighted by its interval's scale so that
the pool predicts the shortage in units (``pooled_errors``). With fewer than ``MIN_ERROR_SAMPLES`` of them (a
fresh install, a new store: few or no earlier forecasts have been observed yet) the pool adds the version's own
training backtest to them (``backtest_error_samples``: the fold's forecasts were fitted before its origin, so
they are as leak-free as issued ones); with too few there as well (or a version stored without its backtest),
the policy falls back to a normal approximation from the forecast quantiles. The reason says which pool was
used and how many errors it holds.
A category's target fill rate is met over its items together, at one cycle service level for all of them
(the least stock for that fill rate, see ``group_cycle_level``); the reason states that level.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from catalog.models import Product
from ecomops.models import ModelVersion
from ecomops.registry import ArtifactIntegrityError, active_model_version, model_version_load

from .ml.replenishment import (
    ERROR_LOOKBACK_DAYS,
    ItemInput,
    apply_budget,
    interval_errors,
    interval_forecast,
    interval_weights,
    pooled_errors,
    suggest_many,
)
from .models import (
    DemandForecast,
    PurchaseOrder,
    PurchaseOrderLine,
    ReplenishmentSuggestion,
    ServiceLevelTarget,
    StockLevel,
    SupplierProduct,
)

DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_LEAD_TIME_DAYS = 7.0
MIN_ERROR_SAMPLES = 20


class ReplenishmentError(ValueError):
    """A replenishment request that cannot be carried out (the message says why)."""


def _open_quantities() -> dict[tuple[int, int], int]:
    open_states = [PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.APPROVED, PurchaseOrder.Status.SENT]
    rows = (
        PurchaseOrderLine.objects.filter(purchase_order__status__in=open_states)
        .values("product_id", "purchase_order__location_id")
        .annotate(open=Sum(F("quantity") - F("quantity_received")))
    )
    return {(r["product_id"], r["purchase_order__location_id"]): int(r["open"] or 0) for r in rows}


def _realised_demand(*, before: date) -> dict[tuple[int, int, int], dict[date, float]]:
    """Recorded demand before ``before`` by (product, location, period days) and period start."""
    from .forecasting import order_demand_daily, pos_demand_weekly

    out: dict[tuple[int, int, int], dict[date, float]] = {}
    for frame, days in ((order_demand_daily(before=before), 1), (pos_demand_weekly(before=before), 7)):
        if frame.empty:
            continue
        for (product_id, location_id), group in frame.groupby(["product_id", "location_id"]):
            out[(int(product_id), int(location_id), days)] = dict(
                zip(group["ds"].dt.date, group["y"].astype(float), strict=True)
            )
    return out


def forecast_error_samples(
    *, as_of: date, protection_days: dict[tuple[int, int], float]
) -> tuple[np.ndarray, np.ndarray]:
    """Standardised errors of past forecasts over each item's protection interval (see the module docstring):
    (recorded demand - P50 sum) / scale, for intervals that ended before ``as_of``, and each interval's scale."""
    past = (
        DemandForecast.objects.filter(
            as_of__lt=as_of,
            as_of__gte=as_of - timedelta(days=ERROR_LOOKBACK_DAYS),
            period_start__lt=as_of,
            product_id__in={p for p, _ in protection_days},
        )
        .order_by("model_version_id", "product_id", "location_id", "as_of", "period_start")
        .values_list("model_version_id", "product_id", "location_id", "as_of", "period_start", "period_days", "p10",
                     "p50", "p90")
    )  # fmt: skip
    groups: dict[tuple, list[tuple]] = {}
    for row in past:
        if (row[1], row[2]) in protection_days and row[4] >= row[3]:
            groups.setdefault(row[:4], []).append(row[4:])
    if not groups:
        return np.array([]), np.array([])
    realised = _realised_demand(before=as_of)
    actual_sums, p50_sums, spread_sums = [], [], []
    for (_version, product_id, location_id, _issued), rows in groups.items():
        period_days = rows[0][1]
        days = protection_days[(product_id, location_id)]
        n = math.ceil(days / period_days - 1e-9)
        rows = rows[:n]
        history = realised.get((product_id, location_id, period_days))
        if n == 0 or len(rows) < n or history is None:
            continue
        starts = [r[0] for r in rows]
        if any((b - a).days != period_days for a, b in zip(starts, starts[1:], strict=False)):
            continue  # a gap in the forecast rows
        if starts[-1] + timedelta(days=period_days) > as_of or any(s not in history for s in starts):
            continue  # not fully observed yet, or a missing period
        sums = _interval_sums(
            [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows], [history[s] for s in starts],
            period_days=period_days, days=days,
        )  # fmt: skip
        for target, value in zip((actual_sums, p50_sums, spread_sums), sums, strict=True):
            target.append(value)
    return interval_errors(actual_sums, p50_sums, spread_sums)


def _interval_sums(p10, p50, p90, actual, *, period_days: int, days: float) -> tuple[float, float, float]:
    """(recorded demand, P50 sum, P90 - P10 spread sum) over a protection interval of ``days`` days."""
    weights = interval_weights(len(p50), period_days=period_days, days=days)
    p50_sum, spread_sum, _ = interval_forecast(p10, p50, p90, period_days=period_days, days=days)
    return float(np.dot(weights, actual)), p50_sum, spread_sum


def backtest_error_samples(
    *, version: ModelVersion, protection_days: dict[tuple[int, int], float]
) -> tuple[np.ndarray, np.ndarray]:
    """Standardised protection-interval errors of ``version``'s own training backtest (each frequency's fold:
    forecasts fitted before the fold's origin, compared with the demand after it), for each series among
    ``protection_days`` and every interval start in the fold whose interval lies inside it and was fully
    recorded (the fold's weeks, not its series, give the tails: one origin alone missed the chain-wide
    promotion weeks in the replay, 88.7 % fill at a 98 % target against 98.5 % with every start); and each
    interval's scale. Empty for versions stored without their backtest (or whose artifact cannot be read)."""
    try:
        artifact = model_version_load(version=version) if version.artifact else None
    except (ArtifactIntegrityError, OSError):
        artifact = None
    actual_sums, p50_sums, spread_sums = [], [], []
    for freq, part in (artifact if isinstance(artifact, dict) else {}).items():
        fold = part.get("backtest") if isinstance(part, dict) else None
        if fold is None:
            continue
        period_days = 1 if freq == "D" else 7
        for i, series_id in enumerate(fold["series_ids"]):
            product_id, location_id = (int(x) for x in series_id.split(":"))
            days = protection_days.get((product_id, location_id))
            if days is None:
                continue
            n = math.ceil(days / period_days - 1e-9)
            for k in range(len(fold["actual"][i]) - n + 1) if n > 0 else ():
                actual = np.asarray(fold["actual"][i, k : k + n], dtype=float)
                if np.isnan(actual).any():
                    continue  # a period of the interval was not recorded
                sums = _interval_sums(
                    *(np.asarray(fold[q][i, k : k + n], dtype=float) for q in ("p10", "p50", "p90")), actual,
                    period_days=period_days, days=days,
                )  # fmt: skip
                for target, value in zip((actual_sums, p50_sums, spread_sums), sums, strict=True):
                    target.append(value)
    return interval_errors(actual_sums, p50_sums, spread_sums)


def replenishment_suggest(
    *,
    as_of: date | None = None,
    version: ModelVersion | None = None,
    budget: Decimal | None = None,
    review_days: float = 7.0,
) -> list[ReplenishmentSuggestion]:
    """Compute (upsert) a suggestion per product and location forecast by ``version`` (default: active)."""
    as_of = as_of or timezone.now().date()
    version = version or active_model_version("demand")
    if version is None:
        raise ReplenishmentError("no active demand model: train one first (forecast_demand or train:demand)")
    forecasts = DemandForecast.objects.filter(model_version=version, period_start__gte=as_of)
    # plain values, not model instances: a marketplace's 18k series x 28 days are half a million rows
    series: dict[tuple[int, int], list[tuple]] = {}
    for product_id, location_id, p10, p50, p90, period_days in forecasts.order_by(
        "product_id", "location_id", "period_start"
    ).values_list("product_id", "location_id", "p10", "p50", "p90", "period_days"):
        series.setdefault((product_id, location_id), []).append((p10, p50, p90, period_days))
    if not series:
        raise ReplenishmentError(f"demand v{version.version} has no forecast on or after {as_of}")
    product_ids = {p for p, _ in series}
    product_by_id = {
        product.pk: product
        for product in Product.objects.filter(pk__in=forecasts.values("product_id")).only(
            "pk", "category_id", "unit_cost"
        )
    }
    stock = {
        (s.product_id, s.location_id): s.on_hand
        for s in StockLevel.objects.filter(product_id__in=product_ids).only("product_id", "location_id", "on_hand")
    }
    on_order = _open_quantities()
    suppliers: dict[int, SupplierProduct] = {}
    for sp in (
        SupplierProduct.objects.filter(product_id__in=product_ids)
        .select_related("supplier")
        .order_by("product_id", "-is_preferred", "pk")
    ):
        suppliers.setdefault(sp.product_id, sp)
    levels = {t.category_id: float(t.target) for t in ServiceLevelTarget.objects.all()}

    keys, items, products = [], [], []
    for (product_id, location_id), rows in series.items():
        sp = suppliers.get(product_id)
        product = product_by_id[product_id]
        products.append(product)
        items.append(
            ItemInput(
                p10=tuple(r[0] for r in rows),
                p50=tuple(r[1] for r in rows),
                p90=tuple(r[2] for r in rows),
                period_days=rows[0][3],
                on_hand=stock.get((product_id, location_id), 0),
                on_order=on_order.get((product_id, location_id), 0),
                lead_time_days=sp.supplier.lead_time_days if sp else DEFAULT_LEAD_TIME_DAYS,
                lead_time_std_days=sp.supplier.lead_time_std_days if sp else 0.0,
                review_days=review_days,
                service_level=levels.get(product.category_id, DEFAULT_SERVICE_LEVEL),
                min_order_qty=sp.min_order_qty if sp else 1,
                pack_size=sp.pack_size if sp else 1,
                unit_cost=float(sp.unit_cost if sp and sp.unit_cost is not None else product.unit_cost or 0) or None,
            )
        )
        keys.append((product_id, location_id, sp))
    protection_days = {(p, loc): i.lead_time_days + i.review_days for (p, loc, _), i in zip(keys, items, strict=True)}
    errors, scales = forecast_error_samples(as_of=as_of, protection_days=protection_days)
    source = "issued forecasts"
    if len(errors) < MIN_ERROR_SAMPLES:  # the first runs: few or no earlier forecasts observed yet
        fold_errors, fold_scales = backtest_error_samples(version=version, protection_days=protection_days)
        fold = f"the backtest of demand v{version.version}"
        if len(errors) and len(fold_errors):  # both are out-of-sample: the few issued ones join the fold's
            source = f"issued forecasts ({len(errors)}) and {fold} ({len(fold_errors)})"
        elif len(fold_errors):
            source = fold
        errors, scales = np.concatenate([errors, fold_errors]), np.concatenate([scales, fold_scales])
    if len(errors) >= MIN_ERROR_SAMPLES:
        pool = pooled_errors(errors, scales)
        items = [replace(i, error_samples=pool, error_count=len(errors), error_source=source) for i in items]
    categories = [product.category_id for product in products]
    results = apply_budget(suggest_many(items, groups=categories), items, None if budget is None else float(budget))

    now = timezone.now()
    fresh: dict[tuple[int, int], ReplenishmentSuggestion] = {}
    for (product_id, location_id, sp), item, result in zip(keys, items, results, strict=True):
        reason = result.reason if sp else result.reason + "; no supplier on file (default lead time 7d)"
        fresh[(product_id, location_id)] = ReplenishmentSuggestion(
            product_id=product_id,
            location_id=location_id,
            as_of=as_of,
            supplier=sp.supplier if sp else None,
            model_version=version,
            status=ReplenishmentSuggestion.Status.OPEN,
            on_hand=int(item.on_hand),
            on_order=int(item.on_order),
            service_level=item.service_level,
            lead_time_days=item.lead_time_days,
            lead_time_std_days=item.lead_time_std_days,
            review_period_days=item.review_days,
            daily_demand=result.daily_demand,
            demand_std_lead_time=result.sigma_protection,
            safety_stock=result.safety_stock,
            reorder_point=result.reorder_point,
            order_up_to=result.order_up_to,
            quantity=result.quantity,
            unit_cost=None if item.unit_cost is None else Decimal(str(round(item.unit_cost, 2))),
            days_of_cover=result.days_of_cover,
            stockout_risk=result.stockout_risk,
            overstock_units=result.overstock_units,
            reason=reason,
            updated_at=now,
        )
    # Written in bulk (one upsert per row made 18k product-location suggestions take minutes). A suggestion of the
    # same day already on a purchase order is left as it was; the others of the same day are replaced.
    with transaction.atomic():
        existing: dict[tuple[int, int], ReplenishmentSuggestion] = {}
        product_ids_sorted = sorted({p for p, _ in fresh})
        for start in range(0, len(product_ids_sorted), 2000):
            rows = ReplenishmentSuggestion.objects.select_for_update().filter(
                as_of=as_of, product_id__in=product_ids_sorted[start : start + 2000]
            )
            existing.update({(r.product_id, r.location_id): r for r in rows if (r.product_id, r.location_id) in fresh})
        written = []
        for key, suggestion in fresh.items():
            old = existing.get(key)
            if old is None or old.status != ReplenishmentSuggestion.Status.ORDERED:
                if old is not None:
                    suggestion.created_at = old.created_at
                written.append(suggestion)
        # one INSERT ... ON CONFLICT DO UPDATE per thousand rows (Django's bulk_update builds a CASE per field and
        # row: a minute for 18k rows)
        ReplenishmentSuggestion.objects.bulk_create(
            written,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["product", "location", "as_of"],
            update_fields=_SUGGESTION_FIELDS,
        )
    return [
        existing[key] if key in existing and existing[key].status == ReplenishmentSuggestion.Status.ORDERED else row
        for key, row in fresh.items()
    ]


#: What a new computation of a suggestion replaces.
_SUGGESTION_FIELDS = [
    "supplier",
    "model_version",
    "status",
    "on_hand",
    "on_order",
    "service_level",
    "lead_time_days",
    "lead_time_std_days",
    "review_period_days",
    "daily_demand",
    "demand_std_lead_time",
    "safety_stock",
    "reorder_point",
    "order_up_to",
    "quantity",
    "unit_cost",
    "days_of_cover",
    "stockout_risk",
    "overstock_units",
    "reason",
    "updated_at",
]


@dataclass(frozen=True)
class OrdersCreated:
    """Draft purchase orders made from suggestions, and the suggestions skipped with the reason."""

    orders: list[PurchaseOrder]
    skipped: list[tuple[ReplenishmentSuggestion, str]]


def purchase_orders_create_from_suggestions(
    *, suggestions: QuerySet[ReplenishmentSuggestion], user=None
) -> OrdersCreated:
    """One draft PurchaseOrder per (supplier, location) holding the open suggestions with a quantity."""
    with transaction.atomic():
        locked = list(
            ReplenishmentSuggestion.objects.select_for_update(of=("self",))
            .filter(pk__in=suggestions.values("pk"))
            .select_related("product", "supplier", "location")
            .order_by("pk")
        )
        skipped, groups = [], {}
        for s in locked:
            if s.status != ReplenishmentSuggestion.Status.OPEN:
                skipped.append((s, f"already {s.get_status_display().lower()}"))
            elif s.quantity < 1:
                skipped.append((s, "nothing to order"))
            elif s.supplier is None:
                skipped.append((s, "no supplier for this product"))
            else:
                groups.setdefault((s.supplier_id, s.location_id), []).append(s)
        orders = []
        for (_supplier_id, _location_id), rows in groups.items():
            order = PurchaseOrder.objects.create(
                number=f"PO-{timezone.now():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}",
                supplier=rows[0].supplier,
                location=rows[0].location,
                status=PurchaseOrder.Status.DRAFT,
                created_by=user if user is not None and user.is_authenticated else None,
                notes=f"From replenishment suggestions as of {rows[0].as_of}",
            )
            merged: dict[int, list[ReplenishmentSuggestion]] = {}
            for s in rows:
                merged.setdefault(s.product_id, []).append(s)
            for _product_id, same in merged.items():
                line = PurchaseOrderLine.objects.create(
                    purchase_order=order,
                    product=same[0].product,
                    quantity=sum(s.quantity for s in same),
                    unit_cost=same[0].unit_cost,
                    reason="\n".join(s.reason for s in same),
                )
                ReplenishmentSuggestion.objects.filter(pk__in=[s.pk for s in same]).update(
                    status=ReplenishmentSuggestion.Status.ORDERED, purchase_order_line=line
                )
            orders.append(order)
    return OrdersCreated(orders=orders, skipped=skipped)


def purchase_orders_approve(*, orders: QuerySet[PurchaseOrder], user) -> int:
    """A planner approves draft orders: status approved, with who and when. Other states are left alone."""
    return orders.filter(status=PurchaseOrder.Status.DRAFT).update(
        status=PurchaseOrder.Status.APPROVED, approved_by=user, approved_at=timezone.now(), updated_at=timezone.now()
    )

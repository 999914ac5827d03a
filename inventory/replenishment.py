"""Replenishment services: suggestions from the demand forecast, draft purchase orders, planner approval.

Stock position = on hand (StockLevel) + open purchase-order quantity not yet received (draft, approved or
sent orders to that location). Supplier terms come from the preferred SupplierProduct (lead time and its
standard deviation, MOQ, pack size, unit cost); the cycle service level from the product category's
ServiceLevelTarget (default 0.95). Policy maths live in ``inventory.ml.replenishment``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from ecomops.models import ModelVersion
from ecomops.registry import active_model_version

from .ml.replenishment import ItemInput, apply_budget, suggest
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
    forecasts = (
        DemandForecast.objects.filter(model_version=version, period_start__gte=as_of)
        .select_related("product__category")
        .order_by("product_id", "location_id", "period_start")
    )
    series: dict[tuple[int, int], list[DemandForecast]] = {}
    for row in forecasts:
        series.setdefault((row.product_id, row.location_id), []).append(row)
    if not series:
        raise ReplenishmentError(f"demand v{version.version} has no forecast on or after {as_of}")
    product_ids = {p for p, _ in series}
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

    keys, items = [], []
    for (product_id, location_id), rows in series.items():
        sp = suppliers.get(product_id)
        product = rows[0].product
        items.append(
            ItemInput(
                p10=tuple(r.p10 for r in rows),
                p50=tuple(r.p50 for r in rows),
                p90=tuple(r.p90 for r in rows),
                period_days=rows[0].period_days,
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
    results = apply_budget([suggest(i) for i in items], items, None if budget is None else float(budget))

    saved = []
    with transaction.atomic():
        for (product_id, location_id, sp), item, result in zip(keys, items, results, strict=True):
            existing = ReplenishmentSuggestion.objects.filter(
                product_id=product_id, location_id=location_id, as_of=as_of
            ).first()
            if existing is not None and existing.status == ReplenishmentSuggestion.Status.ORDERED:
                saved.append(existing)  # already on a purchase order: leave it as it was
                continue
            reason = result.reason if sp else result.reason + "; no supplier on file (default lead time 7d)"
            values = {
                "supplier": sp.supplier if sp else None,
                "model_version": version,
                "status": ReplenishmentSuggestion.Status.OPEN,
                "on_hand": int(item.on_hand),
                "on_order": int(item.on_order),
                "service_level": item.service_level,
                "lead_time_days": item.lead_time_days,
                "lead_time_std_days": item.lead_time_std_days,
                "review_period_days": item.review_days,
                "daily_demand": result.daily_demand,
                "demand_std_lead_time": result.sigma_protection,
                "safety_stock": result.safety_stock,
                "reorder_point": result.reorder_point,
                "order_up_to": result.order_up_to,
                "quantity": result.quantity,
                "unit_cost": None if item.unit_cost is None else Decimal(str(round(item.unit_cost, 2))),
                "days_of_cover": result.days_of_cover,
                "stockout_risk": result.stockout_risk,
                "overstock_units": result.overstock_units,
                "reason": reason,
            }
            suggestion, _ = ReplenishmentSuggestion.objects.update_or_create(
                product_id=product_id, location_id=location_id, as_of=as_of, defaults=values
            )
            saved.append(suggestion)
    return saved


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

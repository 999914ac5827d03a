"""Writes of logistics: train the delivery model, store predictions, export them, plan routes."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ecomops.models import JobRun, ModelVersion
from ecomops.registry import (
    ModelSpec,
    TrainedModel,
    model_version_load,
    model_version_promote_if_better,
    model_version_register,
)

from .ml.delivery import DeliveryParams, DeliveryTimeModel, known_as_of
from .models import DEFAULT_TARGET_LATE_SHARE, DeliveryPrediction, DeliverySettings, Shipment
from .selectors import delivery_order_frame, orders_known_before, orders_open_at

logger = logging.getLogger(__name__)

DELIVERY_SPEC = ModelSpec(
    name="delivery",
    primary_metric="eta_mae_days",
    higher_is_better=False,
    description="Delivery time from purchase to the customer: ETA (median) and promise date (calibrated quantile).",
)
EXPORT_COLUMNS = ["order_id", "purchased_at", "eta_date", "promise_date", "late_risk", "model_version"]


def default_target_late_share() -> float:
    """The store's accepted share of late deliveries: the admin-edited ``DeliverySettings`` row, else the
    ``LOGISTICS_TARGET_LATE_SHARE`` setting, else 4 %."""
    stored = DeliverySettings.objects.filter(pk=DeliverySettings.SINGLETON_PK).values_list(
        "target_late_share", flat=True
    )
    for value in stored:
        return float(value)
    return float(getattr(settings, "LOGISTICS_TARGET_LATE_SHARE", DEFAULT_TARGET_LATE_SHARE))


def _as_of_datetime(as_of: date) -> datetime:
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)


def _mask_after(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Blank every fact dated on/after the cut-off: at that date it had not happened yet."""
    return known_as_of(frame, cutoff)


def delivery_model_train(
    *, as_of: date, target_late_share: float | None = None, job: JobRun | None = None
) -> tuple[ModelVersion, DeliveryTimeModel]:
    """Train the delivery model on what was known before ``as_of`` and register it (promoted if better)."""
    target = default_target_late_share() if target_late_share is None else target_late_share
    if not 0 < target < 0.5:
        raise ValueError(f"target late share must be between 0 and 0.5, got {target}")
    cutoff = pd.Timestamp(as_of)
    history = _mask_after(delivery_order_frame(orders=orders_known_before(as_of=_as_of_datetime(as_of))), cutoff)
    model = DeliveryTimeModel(DeliveryParams(target_late_share=target)).fit(history, as_of=cutoff)
    summary = model.summary()
    metrics = {k: float(v) for k, v in summary["calibration"].items()}
    metrics.setdefault("eta_mae_days", float("nan"))
    trained = TrainedModel(
        algorithm="HistGradientBoosting log-days relative to network speed + split-conformal promise",
        artifact=model,
        metrics={k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in metrics.items()},
        parameters={**summary["params"], "promise_offset": summary["promise_offset"]},
        data_start=model.data_start_.to_pydatetime().replace(tzinfo=UTC),
        data_end=model.data_end_.to_pydatetime().replace(tzinfo=UTC),
        as_of=as_of,
    )
    version = model_version_register(spec=DELIVERY_SPEC, trained=trained, job=job)
    promoted = model_version_promote_if_better(version=version)
    logger.info("trained delivery v%d as of %s (%d rows, promoted=%s)", version.version, as_of, len(history), promoted)
    return version, model


def _store_predictions(
    *, version: ModelVersion, as_of: date, frame: pd.DataFrame, predicted: pd.DataFrame
) -> list[DeliveryPrediction]:
    shipments = dict(
        Shipment.objects.filter(order_id__in=frame["pk"].tolist())
        .order_by("order_id", "created_at", "pk")
        .values_list("order_id", "pk")
    )
    rows = [
        DeliveryPrediction(
            order_id=int(pk),
            shipment_id=shipments.get(int(pk)),
            model_version=version,
            as_of=as_of,
            eta_date=p.eta_date,
            promise_date=p.promise_date,
            eta_days=float(p.eta_days),
            promise_days=float(p.promise_days),
            late_risk=float(round(p.late_risk, 6)),
        )
        for pk, p in zip(frame["pk"], predicted.itertuples(index=False), strict=True)
    ]
    with transaction.atomic():
        DeliveryPrediction.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["order", "model_version", "as_of"],
            update_fields=[
                "shipment",
                "eta_date",
                "promise_date",
                "eta_days",
                "promise_days",
                "late_risk",
                "updated_at",
            ],
        )
    stored = list(
        DeliveryPrediction.objects.filter(model_version=version, as_of=as_of, order_id__in=frame["pk"].tolist())
        .select_related("order")
        .order_by("order__purchased_at", "order_id")
    )
    # Every row has this version: joining it per row decoded its JSON fields 16k times (a third of predict_delivery
    # at Olist's full size).
    for prediction in stored:
        prediction.model_version = version
    return stored


@dataclass
class DeliveryRun:
    """What ``delivery_predict_as_of`` did: the version it trained and the predictions it stored."""

    version: ModelVersion
    predictions: list[DeliveryPrediction]


def delivery_predict_as_of(
    *, as_of: date, target_late_share: float | None = None, job: JobRun | None = None
) -> DeliveryRun:
    """Train as of ``as_of`` and predict every order purchased on/after it and not delivered before it.

    Strictly leak-free: training sees only orders purchased before ``as_of`` with their facts dated before it,
    and the orders predicted are described only by what was known when they were placed.
    """
    version, model = delivery_model_train(as_of=as_of, target_late_share=target_late_share, job=job)
    cutoff = pd.Timestamp(as_of)
    frame = delivery_order_frame(orders=orders_open_at(as_of=_as_of_datetime(as_of)))
    if frame.empty:
        return DeliveryRun(version=version, predictions=[])
    # The order's own later facts (hand-off, delivery) are unknown at as-of.
    frame = _mask_after(frame, cutoff)
    predicted = model.predict(frame, now=cutoff)
    return DeliveryRun(
        version=version, predictions=_store_predictions(version=version, as_of=as_of, frame=frame, predicted=predicted)
    )


def delivery_score_open_orders(*, now: datetime | None = None, job: JobRun | None = None) -> int:
    """Refresh ETA / promise / late risk of every undelivered order with the active delivery model."""
    from ecomops.registry import active_model_version

    version = active_model_version(DELIVERY_SPEC.name)
    if version is None:
        raise ValueError("no active delivery model: train one first (job train:delivery)")
    model: DeliveryTimeModel = model_version_load(version=version)
    now = now or timezone.now()
    from orders.models import Order

    orders = (
        Order.objects.filter(delivered_at__isnull=True)
        .exclude(status__in=[Order.Status.CANCELED, Order.Status.UNAVAILABLE, Order.Status.DELIVERED])
        .order_by("pk")
    )
    frame = delivery_order_frame(orders=orders)
    if frame.empty:
        return 0
    # The promise follows the store's current target even when it changed after this version was trained.
    predicted = model.predict(
        frame,
        now=pd.Timestamp(now).tz_convert("UTC").tz_localize(None),
        target_late_share=default_target_late_share(),
    )
    stored = _store_predictions(version=version, as_of=now.date(), frame=frame, predicted=predicted)
    return len(stored)


def delivery_model_label(version: ModelVersion) -> str:
    return f"{version.registered_model.name} v{version.version}"


def delivery_predictions_export(*, predictions: list[DeliveryPrediction], stream: IO[str]) -> int:
    """Write the predictions as CSV with exactly ``EXPORT_COLUMNS``; returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    for p in predictions:
        writer.writerow(
            [
                p.order.external_id,
                p.order.purchased_at.astimezone(UTC).isoformat(),
                p.eta_date.isoformat(),
                p.promise_date.isoformat(),
                f"{p.late_risk:.4f}",
                delivery_model_label(p.model_version),
            ]
        )
    return len(predictions)


# ----------------------------------------------------------------------------------------- order risk
RISK_REVIEW_THRESHOLD = 0.5


def _order_value(order) -> float:
    return float(sum(line.unit_price * line.quantity + line.freight for line in order.lines.all()))


def order_risk_score(*, order, now: datetime | None = None):
    """Score how unusual a new order is and store it (``OrderRisk``) with the reasons.

    Signals: value far above the customer's own past orders (or the store's when the customer is new),
    a quantity far above what the product usually sells per line, delivery state different from the
    customer's registered state, and bursts (several orders from one customer or one delivery address
    within 24 hours). Each signal contributes a part; the score is 1 - prod(1 - part).
    """
    from datetime import timedelta

    from django.db.models import Max

    from orders.models import Order, OrderLine

    from .models import OrderRisk

    order = Order.objects.select_related("customer").prefetch_related("lines").get(pk=order.pk)
    now = now or order.purchased_at
    parts: list[tuple[float, str]] = []
    value = _order_value(order)
    past = list(
        Order.objects.filter(customer=order.customer, purchased_at__lt=order.purchased_at)
        .prefetch_related("lines")
        .order_by("-purchased_at")[:50]
    )
    if len(past) >= 3:
        values = np.array([_order_value(o) for o in past])
        reference, label = float(np.median(values)), "the customer's usual"
    else:
        recent = (
            Order.objects.filter(purchased_at__lt=order.purchased_at)
            .exclude(pk=order.pk)
            .prefetch_related("lines")
            .order_by("-purchased_at")[:500]
        )
        values = np.array([_order_value(o) for o in recent])
        reference = float(np.quantile(values, 0.5)) if len(values) >= 20 else 0.0
        label = "the store's typical"
    if reference > 0 and value > 5 * reference:
        parts.append(
            (
                min(0.9, 0.4 + 0.05 * value / reference),
                f"value {value:.2f} is {value / reference:.1f}x {label} {reference:.2f}",
            )
        )
    for line in order.lines.all():
        usual = (
            OrderLine.objects.filter(product_id=line.product_id, order__purchased_at__lt=order.purchased_at)
            .exclude(order=order)
            .aggregate(m=Max("quantity"))["m"]
        )
        limit = max(usual or 0, 3)
        if line.quantity > 2 * limit:
            parts.append((0.6, f"line {line.line_number}: quantity {line.quantity} vs at most {limit} before"))
    if order.shipping_state and order.customer.state and order.shipping_state != order.customer.state:
        parts.append(
            (0.35, f"delivery state {order.shipping_state} differs from the customer's {order.customer.state}")
        )
    window_start = order.purchased_at - timedelta(hours=24)
    same_customer = Order.objects.filter(
        customer=order.customer, purchased_at__gte=window_start, purchased_at__lte=order.purchased_at
    ).count()
    if same_customer >= 4:
        parts.append((min(0.9, 0.15 * same_customer), f"{same_customer} orders from this customer within 24 h"))
    if order.shipping_zip_prefix:
        same_address = (
            Order.objects.filter(
                shipping_zip_prefix=order.shipping_zip_prefix,
                shipping_city=order.shipping_city,
                purchased_at__gte=window_start,
                purchased_at__lte=order.purchased_at,
            )
            .values("customer_id")
            .distinct()
            .count()
        )
        if same_address >= 4:
            parts.append(
                (
                    min(0.9, 0.15 * same_address),
                    f"{same_address} customers ordering to {order.shipping_zip_prefix} within 24 h",
                )
            )
    score = 1.0 - float(np.prod([1.0 - p for p, _ in parts])) if parts else 0.0
    risk, _ = OrderRisk.objects.update_or_create(
        order=order, defaults={"score": round(min(max(score, 0.0), 1.0), 4), "reasons": [r for _, r in parts]}
    )
    return risk


def order_risk_clear_and_allocate(*, risks, user=None) -> tuple[int, list[str]]:
    """Mark the reviewed orders cleared and allocate them; returns (allocated, error messages)."""
    from inventory.allocation import AllocationError, order_allocate

    from .models import OrderRisk

    allocated, failed = 0, []
    for risk in risks.select_related("order").order_by("pk"):
        OrderRisk.objects.filter(pk=risk.pk).update(
            status=OrderRisk.Status.CLEARED, reviewed_by=user, reviewed_at=timezone.now()
        )
        try:
            order_allocate(order=risk.order, user=user)
            allocated += 1
        except AllocationError as exc:
            failed.append(str(exc))
    return allocated, failed


def order_risks_score_new(*, limit: int = 5000) -> int:
    """Score every not-yet-allocated order (created / approved) that has no risk row; returns how many."""
    from orders.models import Order

    pending = (
        Order.objects.filter(status__in=[Order.Status.CREATED, Order.Status.APPROVED], risk__isnull=True)
        .order_by("purchased_at", "pk")
        .only("pk")[:limit]
    )
    count = 0
    for order in pending:
        order_risk_score(order=order)
        count += 1
    return count

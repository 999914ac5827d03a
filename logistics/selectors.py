"""Reads of logistics: the delivery model's order frame, likely-late predictions, carrier performance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from django.db.models import Prefetch, QuerySet

from orders.models import Order, OrderLine

from .ml.delivery import ORDER_COLUMNS
from .models import LIKELY_LATE_RISK, DeliveryPrediction, Shipment, ZipArea


def _naive_utc(value: datetime | None):
    if value is None:
        return pd.NaT
    return pd.Timestamp(value).tz_convert("UTC").tz_localize(None) if value.tzinfo else pd.Timestamp(value)


def delivery_order_frame(*, orders: QuerySet[Order]) -> pd.DataFrame:
    """One row per order in the delivery model's ``ORDER_COLUMNS`` (plus ``pk``), built in a fixed number of queries.

    Seller and customer coordinates come from ``ZipArea`` by postal prefix; the main seller and category are
    those of the most items; the carrier is the one of the order's latest shipment.
    """
    orders = orders.select_related("customer").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("product__category", "seller", "product__seller").order_by(
                "order_id", "line_number"
            ),
        ),
        Prefetch("shipments", queryset=Shipment.objects.select_related("carrier").order_by("-created_at", "-pk")),
    )
    rows = []
    prefixes: set[str] = set()
    for order in orders:
        lines = list(order.lines.all())
        sellers: dict[str, int] = {}
        categories: dict[str, int] = {}
        seller_obj = {}
        weight = volume = freight = price = 0.0
        items = 0
        for line in lines:
            seller = line.seller or line.product.seller
            if seller is not None:
                sellers[seller.external_id] = sellers.get(seller.external_id, 0) + line.quantity
                seller_obj[seller.external_id] = seller
            if line.product.category_id:
                name = line.product.category.name
                categories[name] = categories.get(name, 0) + line.quantity
            weight += (line.product.weight_g or 0) * line.quantity
            volume += (line.product.volume_cm3 or 0) * line.quantity
            freight += float(line.freight)
            price += float(line.unit_price) * line.quantity
            items += line.quantity
        main_seller = seller_obj[max(sellers, key=sellers.get)] if sellers else None
        shipments = list(order.shipments.all())
        customer_zip = order.shipping_zip_prefix or order.customer.zip_prefix
        seller_zip = main_seller.zip_prefix if main_seller else ""
        prefixes.update(p for p in (customer_zip, seller_zip) if p)
        rows.append(
            {
                "pk": order.pk,
                "order_id": order.external_id,
                "purchased_at": _naive_utc(order.purchased_at),
                "approved_at": _naive_utc(order.approved_at),
                "handed_to_carrier_at": _naive_utc(order.handed_to_carrier_at),
                "delivered_at": _naive_utc(order.delivered_at),
                "seller_id": main_seller.external_id if main_seller else None,
                "seller_zip": seller_zip,
                "seller_state": (main_seller.state or None) if main_seller else None,
                "customer_zip": customer_zip,
                "customer_state": order.shipping_state or order.customer.state or None,
                "carrier": shipments[0].carrier.code if shipments and shipments[0].carrier else None,
                "category": max(categories, key=categories.get) if categories else None,
                "weight_g": weight or float("nan"),
                "volume_cm3": volume or float("nan"),
                "freight_value": freight,
                "price": price,
                "items": items,
            }
        )
    centres = {z.prefix: (z.latitude, z.longitude) for z in ZipArea.objects.filter(prefix__in=prefixes)}
    nan = (float("nan"), float("nan"))
    for row in rows:
        row["seller_lat"], row["seller_lng"] = centres.get(row.pop("seller_zip"), nan)
        row["customer_lat"], row["customer_lng"] = centres.get(row.pop("customer_zip"), nan)
    frame = pd.DataFrame(rows, columns=["pk", *ORDER_COLUMNS])
    for column in ("purchased_at", "approved_at", "handed_to_carrier_at", "delivered_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def orders_known_before(*, as_of: datetime) -> QuerySet[Order]:
    """Orders purchased before ``as_of``: the only ones whose facts can inform a model trained as of then."""
    return Order.objects.filter(purchased_at__lt=as_of).order_by("purchased_at", "pk")


def orders_open_at(*, as_of: datetime) -> QuerySet[Order]:
    """Orders purchased on or after ``as_of`` that were not delivered before it.

    The current status is not consulted: a cancelation after ``as_of`` was not known at ``as_of``.
    """
    from django.db.models import Q

    return (
        Order.objects.filter(purchased_at__gte=as_of)
        .filter(Q(delivered_at__isnull=True) | Q(delivered_at__gte=as_of))
        .order_by("purchased_at", "pk")
    )


def likely_late_predictions(*, threshold: float = LIKELY_LATE_RISK) -> QuerySet[DeliveryPrediction]:
    """Latest predictions of undelivered orders whose late risk is at least ``threshold``, riskiest first."""
    return (
        DeliveryPrediction.objects.select_related("order", "model_version__registered_model", "shipment")
        .filter(late_risk__gte=threshold, order__delivered_at__isnull=True)
        .order_by("-late_risk", "promise_date", "pk")
    )


def carrier_performance(*, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """On-time rate by carrier, region (customer state) and month over delivered shipments with a promise.

    The promise is the shipment's estimated date, else the order's promised date. Columns: carrier, region,
    month, shipments, on_time, on_time_rate, mean_days_late (late shipments only).
    """
    shipments = Shipment.objects.filter(delivered_at__isnull=False).select_related("order", "carrier")
    if start:
        shipments = shipments.filter(delivered_at__date__gte=start)
    if end:
        shipments = shipments.filter(delivered_at__date__lt=end)
    rows = []
    for shipment in shipments.order_by("pk").iterator(chunk_size=2000):
        promise = shipment.estimated_delivery_date or shipment.order.promised_delivery_date
        if promise is None:
            continue
        delivered = shipment.delivered_at.date()
        rows.append(
            {
                "carrier": shipment.carrier.code if shipment.carrier else "(none)",
                "region": shipment.order.shipping_state or "(unknown)",
                "month": delivered.strftime("%Y-%m"),
                "on_time": delivered <= promise,
                "days_late": max((delivered - promise).days, 0),
            }
        )
    columns = ["carrier", "region", "month", "shipments", "on_time", "on_time_rate", "mean_days_late"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["carrier", "region", "month"], sort=True)
    result = grouped.agg(shipments=("on_time", "size"), on_time=("on_time", "sum")).reset_index()
    late_days = frame[~frame["on_time"]].groupby(["carrier", "region", "month"])["days_late"].mean()
    result["on_time_rate"] = (result["on_time"] / result["shipments"]).round(4)
    result["mean_days_late"] = (
        result.set_index(["carrier", "region", "month"]).index.map(late_days).fillna(0).astype(float).round(2)
    )
    return result[columns]


def zip_area_point(*, prefix: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a postal prefix's centre, or None when unknown."""
    if not prefix:
        return None
    area = ZipArea.objects.filter(prefix=prefix).only("latitude", "longitude").first()
    return (area.latitude, area.longitude) if area else None


def seller_handling_times(*, as_of: date) -> pd.DataFrame:
    """Expected handling time (approval -> carrier hand-off) per seller, from hand-offs before ``as_of``."""
    from .ml.delivery import handling_time_estimates

    start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    frame = delivery_order_frame(orders=Order.objects.filter(handed_to_carrier_at__lt=start).order_by("pk"))
    return handling_time_estimates(frame, as_of=pd.Timestamp(as_of))

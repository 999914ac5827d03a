"""Reads of logistics: the delivery model's order frame, likely-late predictions, carrier performance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from django.db.models import QuerySet

from ecomops.models import defer_documents
from orders.models import Order, OrderLine

from .ml.delivery import ORDER_COLUMNS
from .models import LIKELY_LATE_RISK, DeliveryPrediction, Shipment, ZipArea


def _naive_utc_column(values: list) -> pd.Series:
    """Aware datetimes (or None) as naive UTC ``datetime64``."""
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.tz_localize(None)


def delivery_order_frame(*, orders: QuerySet[Order]) -> pd.DataFrame:
    """One row per order in the delivery model's ``ORDER_COLUMNS`` (plus ``pk``), built in a fixed number of queries.

    Seller and customer coordinates come from ``ZipArea`` by postal prefix; the main seller and category are
    those of the most items (ties: the smallest id / name, as a mode over the Olist items file gives); the
    carrier is the one of the order's latest shipment. An order without lines has unknown (NaN) freight, price
    and item count, not zeros, like the frame built from the Olist files (``logistics.ml.olist``).

    Reads plain values (no model instances): at Olist's full size (100k orders) building instances through
    ``prefetch_related`` took minutes of every ``predict_delivery`` run.
    """
    order_rows = list(
        orders.values_list(
            "pk",
            "external_id",
            "purchased_at",
            "approved_at",
            "handed_to_carrier_at",
            "delivered_at",
            "shipping_zip_prefix",
            "shipping_state",
            "customer__zip_prefix",
            "customer__state",
        )
    )
    wanted = orders.values("pk")
    per_order: dict[int, dict] = {}
    lines = (
        OrderLine.objects.filter(order__in=wanted)
        .order_by("order_id", "line_number")
        .values_list(
            "order_id",
            "quantity",
            "unit_price",
            "freight",
            "seller__external_id",
            "seller__zip_prefix",
            "seller__state",
            "product__seller__external_id",
            "product__seller__zip_prefix",
            "product__seller__state",
            "product__category__name",
            "product__weight_g",
            "product__length_cm",
            "product__height_cm",
            "product__width_cm",
        )
    )
    for (
        order_pk,
        quantity,
        unit_price,
        freight,
        seller_id,
        seller_zip,
        seller_state,
        product_seller_id,
        product_seller_zip,
        product_seller_state,
        category,
        weight_g,
        length_cm,
        height_cm,
        width_cm,
    ) in lines.iterator(chunk_size=5000):
        acc = per_order.get(order_pk)
        if acc is None:
            acc = per_order[order_pk] = {
                "sellers": {},
                "seller": {},
                "categories": {},
                "weight": 0,
                "volume": 0,
                "freight": 0.0,
                "price": 0.0,
                "items": 0,
            }
        if seller_id is None and product_seller_id is not None:
            seller_id, seller_zip, seller_state = product_seller_id, product_seller_zip, product_seller_state
        if seller_id is not None:
            acc["sellers"][seller_id] = acc["sellers"].get(seller_id, 0) + quantity
            acc["seller"][seller_id] = (seller_zip, seller_state)
        if category is not None:
            acc["categories"][category] = acc["categories"].get(category, 0) + quantity
        volume = length_cm * height_cm * width_cm if length_cm and height_cm and width_cm else None
        acc["weight"] += (weight_g or 0) * quantity
        acc["volume"] += (volume or 0) * quantity
        acc["freight"] += float(freight)
        acc["price"] += float(unit_price) * quantity
        acc["items"] += quantity
    carriers: dict[int, str | None] = {}
    shipments = (
        Shipment.objects.filter(order__in=wanted)
        .order_by("order_id", "-created_at", "-pk")
        .values_list("order_id", "carrier__code")
    )
    for order_pk, code in shipments.iterator(chunk_size=5000):
        carriers.setdefault(order_pk, code)

    nan = float("nan")
    empty = {"sellers": {}, "seller": {}, "categories": {}, "weight": 0, "volume": 0, "freight": nan, "price": nan}
    rows = []
    prefixes: set[str] = set()
    for pk, external_id, _, _, _, _, shipping_zip, shipping_state, home_zip, home_state in order_rows:
        acc = per_order.get(pk, {**empty, "items": nan})
        sellers, categories = acc["sellers"], acc["categories"]
        main_seller = _most_frequent(sellers)
        seller_zip, seller_state = acc["seller"][main_seller] if main_seller else ("", None)
        customer_zip = shipping_zip or home_zip
        prefixes.update(p for p in (customer_zip, seller_zip) if p)
        rows.append(
            {
                "pk": pk,
                "order_id": external_id,
                "seller_id": main_seller,
                "seller_zip": seller_zip,
                "seller_state": (seller_state or None) if main_seller else None,
                "customer_zip": customer_zip,
                "customer_state": shipping_state or home_state or None,
                "carrier": carriers.get(pk),
                "category": _most_frequent(categories),
                "weight_g": acc["weight"] or float("nan"),
                "volume_cm3": acc["volume"] or float("nan"),
                "freight_value": acc["freight"],
                "price": acc["price"],
                "items": acc["items"],
            }
        )
    centres = {}
    for part in _chunks(sorted(prefixes), 900):
        centres.update(
            (prefix, (lat, lng))
            for prefix, lat, lng in ZipArea.objects.filter(prefix__in=part).values_list(
                "prefix", "latitude", "longitude"
            )
        )
    unknown = (nan, nan)
    for row in rows:
        row["seller_lat"], row["seller_lng"] = centres.get(row.pop("seller_zip"), unknown)
        row["customer_lat"], row["customer_lng"] = centres.get(row.pop("customer_zip"), unknown)
    frame = pd.DataFrame(rows, columns=["pk", *ORDER_COLUMNS])
    for position, column in enumerate(("purchased_at", "approved_at", "handed_to_carrier_at", "delivered_at"), start=2):
        frame[column] = _naive_utc_column([row[position] for row in order_rows])
    return frame


def _most_frequent(counts: dict[str, int]) -> str | None:
    """The key with the highest count, the smallest key among ties (not the first seen: line order is arbitrary)."""
    return min(counts, key=lambda key: (-counts[key], key)) if counts else None


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        defer_documents(
            DeliveryPrediction.objects.select_related("order", "model_version__registered_model", "shipment")
        )
        .filter(late_risk__gte=threshold, order__delivered_at__isnull=True)
        .order_by("-late_risk", "promise_date", "pk")
    )


def carrier_performance(*, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """On-time rate by carrier, region (customer state) and month over delivered shipments with a promise.

    The promise is the shipment's estimated date, else the order's promised date. Columns: carrier, region,
    month, shipments, on_time, on_time_rate, mean_days_late (late shipments only).
    """
    shipments = Shipment.objects.filter(delivered_at__isnull=False)
    if start:
        shipments = shipments.filter(delivered_at__date__gte=start)
    if end:
        shipments = shipments.filter(delivered_at__date__lt=end)
    # five columns, not whole shipments and orders: the report read 100k of each at full Olist scale (5 s)
    fields = [
        "estimated_delivery_date",
        "order__promised_delivery_date",
        "delivered_at",
        "carrier__code",
        "order__shipping_state",
    ]
    frame = pd.DataFrame.from_records(
        shipments.order_by("pk").values_list(*fields).iterator(chunk_size=5000), columns=fields
    )
    columns = ["carrier", "region", "month", "shipments", "on_time", "on_time_rate", "mean_days_late"]
    promise = pd.to_datetime(frame["estimated_delivery_date"].fillna(frame["order__promised_delivery_date"]))
    frame = frame[promise.notna().to_numpy()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    promise = promise[promise.notna()]
    delivered = pd.to_datetime(frame["delivered_at"], utc=True).dt.tz_localize(None).dt.normalize()  # the UTC day
    frame = pd.DataFrame(
        {
            "carrier": frame["carrier__code"].fillna("(none)"),
            "region": frame["order__shipping_state"].fillna("").replace("", "(unknown)"),
            "month": delivered.dt.strftime("%Y-%m"),
            "on_time": (delivered <= promise).to_numpy(),
            "days_late": (delivered - promise).dt.days.clip(lower=0).to_numpy(),
        }
    )
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

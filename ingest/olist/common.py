"""Olist files, their columns, and the context the loaders share."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from orders.models import Order

from ..reader import CsvTable
from ..report import FileReport, ImportReport
from ..upsert import Incoming, pk_map

logger = logging.getLogger(__name__)

TRANSLATION = "product_category_name_translation.csv"
SELLERS = "olist_sellers_dataset.csv"
GEOLOCATION = "olist_geolocation_dataset.csv"
PRODUCTS = "olist_products_dataset.csv"
CUSTOMERS = "olist_customers_dataset.csv"
ORDERS = "olist_orders_dataset.csv"
ITEMS = "olist_order_items_dataset.csv"
PAYMENTS = "olist_order_payments_dataset.csv"
REVIEWS = "olist_order_reviews_dataset.csv"

COLUMNS = {
    TRANSLATION: ["product_category_name", "product_category_name_english"],
    SELLERS: ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
    GEOLOCATION: [
        "geolocation_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "geolocation_city",
        "geolocation_state",
    ],
    PRODUCTS: [
        "product_id",
        "product_category_name",
        "product_weight_g",
        "product_length_cm",
        "product_height_cm",
        "product_width_cm",
    ],
    CUSTOMERS: ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"],
    ORDERS: [
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ],
    ITEMS: ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"],
    PAYMENTS: ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
    REVIEWS: [
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    ],
}
FILES = list(COLUMNS)

DEFAULT_CARRIER_CODE = "OLIST"
DEFAULT_CARRIER_NAME = "Olist carrier (not named in the data)"
SELLER_LOCATION_PREFIX = "SELLER-"
SHIPPED_STATUSES = {Order.Status.SHIPPED, Order.Status.DELIVERED}
ZERO = Decimal("0")


def seller_location_code(seller_id: str) -> str:
    return f"{SELLER_LOCATION_PREFIX}{seller_id[:8]}"


@dataclass
class _Context:
    report: ImportReport
    tables: dict[str, CsvTable | None]
    # file -> {key: line of its first rejected row}, so that rows referring to it say why it is missing
    rejected_keys: dict[str, dict[str, int]] = field(default_factory=dict)

    def file(self, name: str) -> FileReport:
        return self.report.file(name)

    def key_rejected(self, name: str, key: str, line: int) -> None:
        if key:
            self.rejected_keys.setdefault(name, {}).setdefault(key, line)

    def missing(self, name: str, column: str, key: str) -> str:
        """Why ``column`` = ``key`` reaches no row: rejected in file ``name`` (with its line), or unknown."""
        line = self.rejected_keys.get(name, {}).get(key)
        if line is None:
            return f"unknown {column} {key}"
        return f"{column} {key} was rejected ({name} line {line})"

    def rejecter(self, name: str, key: str | None = None):
        """``upsert``'s on_error for file ``name``; ``key``: the value naming the row, remembered as rejected."""

        def reject(row: Incoming, reason: str) -> None:
            self.file(name).rejected += 1
            self.report.reject(file=name, line=row.line, field="-", reason=reason)
            if key is not None:
                self.key_rejected(name, row.values[key], row.line)

        return reject


def _lookup(ctx: _Context, model, field: str, wanted: set[str], known: dict[str, int]) -> dict[str, int]:
    """``known`` plus the stored rows for keys not in it (files imported before)."""
    missing = wanted - known.keys()
    if not missing:
        return known
    return {**known, **pk_map(model, field, missing)}

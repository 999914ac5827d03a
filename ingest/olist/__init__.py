"""Import the Olist marketplace CSV folder (9 files) into catalog, orders, logistics, feedback and inventory.

Mapping (natural keys in brackets):

- ``product_category_name_translation.csv`` -> catalog.Category [name], English name beside it;
  categories used by products but missing from the translation are created with an empty English name.
- ``olist_sellers_dataset.csv`` -> catalog.Seller [external_id], and one inventory.Location per seller
  [code ``SELLER-<first 8 of seller_id>``, kind seller, zip / city / state and the zip area's centre], so
  order-line demand has a location to be counted at.
- ``olist_geolocation_dataset.csv`` -> logistics.ZipArea [prefix]: mean latitude / longitude of the rows
  of a prefix, their count, and the most frequent city / state.
- ``olist_products_dataset.csv`` -> catalog.Product [sku = product_id]: category (may be empty), weight,
  dimensions; the seller is the one that sold it most often in the items file. Olist has no product
  names, costs or list prices: name stays empty, unit_cost and list_price stay null.
- ``olist_customers_dataset.csv`` -> catalog.Customer [external_id = customer_unique_id, the person]
  with the zip / city / state of the person's latest order; ``customer_id`` is per order and becomes
  ``Order.customer_ref`` and the order's shipping address.
- ``olist_orders_dataset.csv`` -> orders.Order [external_id]: status (Olist's statuses are ours), purchase /
  approval / carrier hand-off / delivery timestamps, ``promised_delivery_date`` from
  ``order_estimated_delivery_date``; and for every shipped or delivered order one logistics.Shipment
  [order, default carrier] with hand-off, delivery and estimated dates.
- ``olist_order_items_dataset.csv`` -> orders.OrderLine [order, line_number = order_item_id].
- ``olist_order_payments_dataset.csv`` -> orders.Payment [order, sequential].
- ``olist_order_reviews_dataset.csv`` -> feedback.Review [source store, external_id = review_id, order]
  (a review_id can repeat across orders), language ``pt``.

Timestamps carry no zone in Olist (Brazilian wall-clock time); they are read in the project's
TIME_ZONE so that dates compare with the promised delivery dates as they do in the source.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..reader import read_csv
from ..report import ImportReport
from ..upsert import import_lock
from .common import (
    COLUMNS,
    CUSTOMERS,
    FILES,
    GEOLOCATION,
    ITEMS,
    ORDERS,
    PAYMENTS,
    PRODUCTS,
    REVIEWS,
    SELLERS,
    TRANSLATION,
    _Context,
    seller_location_code,
)
from .orders import _customers, _items, _orders, _parse_orders, _payments, _reviews
from .places import _categories, _products, _sellers, _zip_areas

__all__ = [
    "COLUMNS",
    "CUSTOMERS",
    "FILES",
    "GEOLOCATION",
    "ITEMS",
    "ORDERS",
    "PAYMENTS",
    "PRODUCTS",
    "REVIEWS",
    "SELLERS",
    "TRANSLATION",
    "olist_import",
    "seller_location_code",
]

logger = logging.getLogger(__name__)


def olist_import(*, directory: Path, encoding: str = "auto") -> ImportReport:
    """Import (or re-import) an Olist folder; returns the report. Idempotent: a re-run changes nothing."""
    started = time.perf_counter()
    directory = Path(directory)
    report = ImportReport(source=f"olist {directory}")
    if not directory.is_dir():
        report.file(str(directory)).error = "not a directory"
        return report
    tables = {
        name: read_csv(directory / name, required=columns, report=report, encoding=encoding)
        for name, columns in COLUMNS.items()
    }
    with import_lock():
        _write_all(_Context(report=report, tables=tables))
    report.seconds = time.perf_counter() - started
    logger.info(
        "olist import: %d created, %d updated, %d rejected", report.created, report.updated, len(report.rejected)
    )
    return report


def _write_all(ctx: _Context) -> None:
    category_pks = _categories(ctx)
    zip_areas = _zip_areas(ctx)
    seller_pks = _sellers(ctx, zip_areas)
    order_rows = _parse_orders(ctx)
    customer_pks, customer_refs = _customers(ctx, order_rows)
    order_pks = _orders(ctx, order_rows, customer_pks, customer_refs)
    product_pks = _products(ctx, category_pks, seller_pks)
    _items(ctx, order_pks, product_pks, seller_pks)
    _payments(ctx, order_pks)
    _reviews(ctx, order_pks)

"""Build the delivery model's order frame straight from the Olist CSV files (benchmarks; no Django)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .delivery import ORDER_COLUMNS


def olist_order_frame(directory: str | Path) -> pd.DataFrame:
    """One row per order with ``ORDER_COLUMNS`` plus ``status`` and ``olist_estimate`` (Olist's promise date)."""
    d = Path(directory)
    dates = [
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ]
    orders = pd.read_csv(d / "olist_orders_dataset.csv", parse_dates=dates)
    items = pd.read_csv(d / "olist_order_items_dataset.csv", dtype={"seller_id": str, "product_id": str})
    products = pd.read_csv(d / "olist_products_dataset.csv")
    customers = pd.read_csv(d / "olist_customers_dataset.csv", dtype={"customer_zip_code_prefix": str})
    sellers = pd.read_csv(d / "olist_sellers_dataset.csv", dtype={"seller_zip_code_prefix": str})
    geo = pd.read_csv(d / "olist_geolocation_dataset.csv", dtype={"geolocation_zip_code_prefix": str})
    centres = geo.groupby("geolocation_zip_code_prefix")[["geolocation_lat", "geolocation_lng"]].mean()

    items = items.merge(products, on="product_id", how="left")
    items["volume_cm3"] = items["product_length_cm"] * items["product_height_cm"] * items["product_width_cm"]
    per_order = items.groupby("order_id").agg(
        seller_id=("seller_id", lambda s: s.mode().iat[0]),
        category=("product_category_name", lambda s: s.mode().iat[0] if s.notna().any() else None),
        weight_g=("product_weight_g", "sum"),
        volume_cm3=("volume_cm3", "sum"),
        freight_value=("freight_value", "sum"),
        price=("price", "sum"),
        items=("order_item_id", "size"),
    )
    frame = orders.merge(per_order, left_on="order_id", right_index=True, how="left")
    frame = frame.merge(customers, on="customer_id", how="left")
    frame = frame.merge(sellers, on="seller_id", how="left")
    frame = frame.merge(centres, left_on="customer_zip_code_prefix", right_index=True, how="left").rename(
        columns={"geolocation_lat": "customer_lat", "geolocation_lng": "customer_lng"}
    )
    frame = frame.merge(centres, left_on="seller_zip_code_prefix", right_index=True, how="left").rename(
        columns={"geolocation_lat": "seller_lat", "geolocation_lng": "seller_lng"}
    )
    frame = frame.rename(
        columns={
            "order_purchase_timestamp": "purchased_at",
            "order_approved_at": "approved_at",
            "order_delivered_carrier_date": "handed_to_carrier_at",
            "order_delivered_customer_date": "delivered_at",
            "order_estimated_delivery_date": "olist_estimate",
            "order_status": "status",
            "customer_state": "customer_state",
            "seller_state": "seller_state",
        }
    )
    frame["carrier"] = None  # Olist does not say which carrier moved the parcel
    return frame[[*ORDER_COLUMNS, "status", "olist_estimate"]].reset_index(drop=True)

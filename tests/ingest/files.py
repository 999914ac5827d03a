"""Small Olist and Dominick's folders written by the tests (the real files are never copied)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

OLIST = {
    "product_category_name_translation.csv": [
        ["product_category_name", "product_category_name_english"],
        ["beleza_saude", "health_beauty"],
        ["bebes", "baby"],
    ],
    "olist_sellers_dataset.csv": [
        ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
        ["s1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "01001", "sao paulo", "SP"],
        ["s2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "20231", "rio de janeiro", "RJ"],
    ],
    "olist_geolocation_dataset.csv": [
        [
            "geolocation_zip_code_prefix",
            "geolocation_lat",
            "geolocation_lng",
            "geolocation_city",
            "geolocation_state",
        ],
        ["01001", "-23.5", "-46.6", "sao paulo", "SP"],
        ["01001", "-23.7", "-46.8", "são paulo", "SP"],
        ["01001", "-23.6", "-46.7", "sao paulo", "SP"],
        ["20231", "-22.9", "-43.2", "rio de janeiro", "RJ"],
    ],
    "olist_products_dataset.csv": [
        [
            "product_id",
            "product_category_name",
            "product_name_lenght",
            "product_description_lenght",
            "product_photos_qty",
            "product_weight_g",
            "product_length_cm",
            "product_height_cm",
            "product_width_cm",
        ],
        ["p1", "beleza_saude", "40", "300", "1", "500", "20", "10", "15"],
        ["p2", "", "", "", "", "1200", "30", "20", "10"],
        ["p3", "pc_gamer", "40", "300", "2", "2500", "", "", ""],
    ],
    "olist_customers_dataset.csv": [
        ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"],
        ["c1", "u1", "35182", "timoteo", "MG"],
        ["c2", "u1", "20231", "rio de janeiro", "RJ"],
        ["c3", "u2", "01001", "sao paulo", "SP"],
    ],
    "olist_orders_dataset.csv": [
        [
            "order_id",
            "customer_id",
            "order_status",
            "order_purchase_timestamp",
            "order_approved_at",
            "order_delivered_carrier_date",
            "order_delivered_customer_date",
            "order_estimated_delivery_date",
        ],
        [
            "o1",
            "c1",
            "delivered",
            "2017-07-09 21:57:05",
            "2017-07-09 22:10:13",
            "2017-07-11 14:58:04",
            "2017-07-26 10:57:55",
            "2017-08-01 00:00:00",
        ],
        [
            "o2",
            "c2",
            "shipped",
            "2018-01-02 10:00:00",
            "2018-01-02 11:00:00",
            "2018-01-04 09:00:00",
            "",
            "2018-01-25 00:00:00",
        ],
        ["o3", "c3", "canceled", "2018-02-01 08:00:00", "", "", "", "2018-02-20 00:00:00"],
    ],
    "olist_order_items_dataset.csv": [
        ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"],
        ["o1", "1", "p1", "s1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2017-07-13 22:10:13", "144.0", "8.77"],
        ["o1", "2", "p2", "s2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "2017-07-13 22:10:13", "21.99", "11.85"],
        ["o2", "1", "p1", "s1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2018-01-06 11:00:00", "140.50", "9.10"],
    ],
    "olist_order_payments_dataset.csv": [
        ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
        ["o1", "1", "credit_card", "2", "176.61"],
        ["o1", "2", "voucher", "1", "10.00"],
        ["o2", "1", "boleto", "1", "149.60"],
    ],
    "olist_order_reviews_dataset.csv": [
        [
            "review_id",
            "order_id",
            "review_score",
            "review_comment_title",
            "review_comment_message",
            "review_creation_date",
            "review_answer_timestamp",
        ],
        ["r1", "o1", "5", "Ótimo", "Chegou antes do prazo", "2017-07-27 00:00:00", "2017-07-28 12:00:00"],
        ["r1", "o2", "4", "", "", "2018-01-20 00:00:00", ""],
        ["r2", "o3", "1", "", "Não recebi\nnada, cancelaram", "2018-02-21 00:00:00", "2018-02-22 09:30:00"],
    ],
}

DOMINICKS_BRANDS = [["brand", "name"], ["1", "Tropicana Premium 64oz"], ["2", "Minute Maid 64oz"]]
DOMINICKS_STORES = [["STORE", "AGE60", "INCOME"], ["2", "0.23", "10.55"], ["5", "0.12", "10.92"]]
WEEK_HEADER = ["store", "brand", "week", "logmove", "constant", "price1", "price2", "deal", "feat", "profit"]


def week_row(store, brand, week, units, price1, price2, deal, feat, profit="30.5") -> list[str]:
    import math

    return [str(store), str(brand), str(week), repr(math.log(units)), "1", price1, price2, str(deal), feat, profit]


DOMINICKS_WEEKS = [
    WEEK_HEADER,
    week_row(2, 1, 40, 8256, "0.06046875", "0.0452", 1, "0.0"),
    week_row(2, 1, 41, 6144, "0.06046875", "0.0452", 1, "1.0"),
    week_row(2, 1, 42, 3840, "0.05203125", "0.0452", 0, "0.9645"),
    week_row(2, 1, 44, 4416, "0.05203125", "0.0452", 0, "0.04"),
    week_row(2, 2, 40, 1000, "0.06046875", "0.0452", 0, "0.0"),
    week_row(5, 1, 40, 2000, "0.0599", "0.0400", 0, "0.0"),
]


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    data = csv_text(rows).encode(encoding)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_olist(directory: Path, **replace: list[list[str]]) -> Path:
    """The small Olist folder; ``replace`` maps a file stem (``olist_orders_dataset``) to its rows."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in OLIST.items():
        write_csv(directory / name, replace.get(name.removesuffix(".csv"), rows))
    return directory


def write_dominicks(directory: Path, *, weeks=None, brands=None, stores=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write_csv(directory / "brands.csv", brands or DOMINICKS_BRANDS)
    write_csv(directory / "stores.csv", stores or DOMINICKS_STORES)
    write_csv(directory / "oj_store_brand_week.csv.gz", weeks or DOMINICKS_WEEKS)
    return directory

"""The importers on the real shared files: no rejected row, no warning (the files are clean), counts equal
to the CSVs, and a second run changes nothing."""

import csv
import gzip

import pytest

from catalog.models import Customer, Product, Seller
from feedback.models import Review
from ingest.dominicks import dominicks_import
from ingest.olist import olist_import
from inventory.models import Location, SalesObservation
from orders.models import Order, OrderLine, Payment
from tests.conftest import shared_data

pytestmark = [pytest.mark.django_db, pytest.mark.realdata, pytest.mark.slow]


def read_rows(path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_olist_counts_equal_the_csvs_and_a_second_run_changes_nothing():
    folder = shared_data("olist")
    orders = read_rows(folder / "olist_orders_dataset.csv")
    items = read_rows(folder / "olist_order_items_dataset.csv")
    payments = read_rows(folder / "olist_order_payments_dataset.csv")
    reviews = read_rows(folder / "olist_order_reviews_dataset.csv")
    customers = read_rows(folder / "olist_customers_dataset.csv")
    products = read_rows(folder / "olist_products_dataset.csv")
    sellers = read_rows(folder / "olist_sellers_dataset.csv")

    report = olist_import(directory=folder)

    assert report.ok, report.errors
    assert (report.rejected, report.warnings) == ([], [])
    assert Order.objects.count() == len({r["order_id"] for r in orders}) == len(orders)
    assert OrderLine.objects.count() == len(items)
    assert Payment.objects.count() == len(payments)
    assert Review.objects.count() == len({(r["review_id"], r["order_id"]) for r in reviews})
    assert Customer.objects.count() == len({r["customer_unique_id"] for r in customers})
    assert Product.objects.count() == len(products)
    assert Seller.objects.count() == len(sellers)
    assert Location.objects.filter(kind=Location.Kind.SELLER).count() == len(sellers)
    assert Order.objects.filter(lines__isnull=True).count() == len(
        {r["order_id"] for r in orders} - {r["order_id"] for r in items}
    )

    again = olist_import(directory=folder)

    assert (again.created, again.updated, again.rejected, again.warnings) == (0, 0, [], [])
    assert Order.objects.count() == len(orders)


def test_dominicks_counts_equal_the_csv_and_a_second_run_changes_nothing():
    folder = shared_data("dominicks_oj")
    weeks = read_rows(folder / "oj_store_brand_week.csv.gz")

    report = dominicks_import(directory=folder)

    assert report.ok, report.errors
    assert (report.rejected, report.warnings) == ([], [])
    assert SalesObservation.objects.count() == len(weeks)
    assert Product.objects.filter(sku__startswith="DOM-OJ-").count() == len({r["brand"] for r in weeks})
    assert Location.objects.filter(code__startswith="DOM-").count() == len({r["store"] for r in weeks})
    assert sum(SalesObservation.objects.values_list("on_display", flat=True)) == sum(int(r["deal"]) for r in weeks)

    again = dominicks_import(directory=folder)

    assert (again.created, again.updated, again.rejected, again.warnings) == (0, 0, [], [])

"""import_dominicks on small folders written by the tests."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Product
from ingest.dominicks import dominicks_import, week_start
from ingest.report import ClearedField, RejectedRow
from inventory.models import Location, SalesObservation
from pricing.models import PriceHistory, Promotion

from .files import DOMINICKS_STORES, DOMINICKS_WEEKS, WEEK_HEADER, week_row, write_dominicks

pytestmark = pytest.mark.django_db

WEEKS = "oj_store_brand_week.csv.gz"


def test_week_one_starts_on_thursday_1989_09_14():
    assert week_start(1) == date(1989, 9, 14)
    assert week_start(40) == date(1990, 6, 14)
    assert week_start(40).weekday() == 3


def test_imports_brands_stores_weeks_prices_and_promotions(tmp_path):
    report = dominicks_import(directory=write_dominicks(tmp_path))

    assert report.ok and report.rejected == []
    assert list(Product.objects.order_by("sku").values_list("sku", "name", "category__name")) == [
        ("DOM-OJ-1", "Tropicana Premium 64oz", "refrigerated orange juice"),
        ("DOM-OJ-2", "Minute Maid 64oz", "refrigerated orange juice"),
    ]
    store = Location.objects.get(code="DOM-2")
    assert (store.kind, store.name, store.attributes) == (
        Location.Kind.STORE,
        "Dominick's store 2",
        {"source": "dominicks", "store": 2, "country": "US", "age60": 0.23, "income": 10.55},
    )
    assert Location.objects.count() == 2

    series = SalesObservation.objects.filter(product__sku="DOM-OJ-1", location__code="DOM-2").order_by("period_start")
    assert [
        (o.period_start, o.period_days, o.units, o.price, o.on_display, o.on_feature, o.on_discount, o.profit)
        for o in series
    ] == [
        (date(1990, 6, 14), 7, 8256.0, Decimal("0.0605"), True, False, False, 30.5),
        (date(1990, 6, 21), 7, 6144.0, Decimal("0.0605"), True, True, False, 30.5),
        (date(1990, 6, 28), 7, 3840.0, Decimal("0.0520"), False, True, False, 30.5),
        (date(1990, 7, 12), 7, 4416.0, Decimal("0.0520"), False, False, False, 30.5),
    ]
    # brand 2's own price column is price2, not price1
    assert SalesObservation.objects.get(product__sku="DOM-OJ-2").price == Decimal("0.0452")
    assert SalesObservation.objects.count() == 6

    # weeks 40-41 share a price; week 42 changes it; week 43 is missing, so week 44 starts a new row.
    prices = PriceHistory.objects.filter(product__sku="DOM-OJ-1", location__code="DOM-2").order_by("effective_from")
    assert [(p.effective_from, p.effective_to, p.price, p.source) for p in prices] == [
        (date(1990, 6, 14), date(1990, 6, 27), Decimal("0.0605"), "import"),
        (date(1990, 6, 28), date(1990, 7, 4), Decimal("0.0520"), "import"),
        (date(1990, 7, 12), date(1990, 7, 18), Decimal("0.0520"), "import"),
    ]
    assert PriceHistory.objects.count() == 5

    promotions = Promotion.objects.filter(product__sku="DOM-OJ-1", location__code="DOM-2").order_by("kind")
    assert [(p.kind, p.starts_on, p.ends_on) for p in promotions] == [
        (Promotion.Kind.DISPLAY, date(1990, 6, 14), date(1990, 6, 27)),  # deal in weeks 40-41
        (Promotion.Kind.FEATURE, date(1990, 6, 21), date(1990, 7, 4)),  # feat 1.0 and 0.9645; 0.04 is not
    ]
    assert Promotion.objects.count() == 2

    counts = report.files[WEEKS].tables
    assert (report.files[WEEKS].read, counts["inventory.SalesObservation"].created) == (6, 6)
    assert (counts["pricing.PriceHistory"].created, counts["pricing.Promotion"].created) == (5, 2)


def test_second_run_changes_nothing_and_a_changed_week_is_one_update(tmp_path):
    folder = write_dominicks(tmp_path / "a")
    dominicks_import(directory=folder)

    again = dominicks_import(directory=folder)
    assert (again.created, again.updated, again.rejected) == (0, 0, [])
    assert again.files[WEEKS].tables["inventory.SalesObservation"].unchanged == 6

    weeks = [list(r) for r in DOMINICKS_WEEKS]
    weeks[6] = week_row(5, 1, 40, 2500, "0.0599", "0.0400", 0, "0.0")
    changed = dominicks_import(directory=write_dominicks(tmp_path / "b", weeks=weeks))

    table = changed.files[WEEKS].tables["inventory.SalesObservation"]
    assert (table.created, table.updated, table.unchanged) == (0, 1, 5)
    assert changed.updated == 1
    assert SalesObservation.objects.get(location__code="DOM-5").units == 2500.0


def test_bad_rows_are_rejected_and_the_rest_kept(tmp_path):
    weeks = [list(r) for r in DOMINICKS_WEEKS] + [
        week_row(9, 1, 50, 100, "0.05", "0.04", 0, "0.0"),  # line 8: unknown store
        week_row(2, 1, 40, 100, "0.05", "0.04", 0, "0.0"),  # line 9: duplicate store-brand-week
        ["2", "2", "41", "many", "1", "0.05", "0.04", "0", "0.0", "1"],  # line 10: bad logmove
        week_row(2, 3, 41, 100, "0.05", "0.04", 0, "0.0"),  # line 11: brand 3 unknown, no price3 column
        week_row(2, 2, 42, 100, "0.05", "0", 2, "0.0"),  # line 12: zero price, deal 2
    ]

    report = dominicks_import(directory=write_dominicks(tmp_path, weeks=weeks))

    assert report.rejected == [
        RejectedRow(WEEKS, 8, "store", "unknown store 9 (not in stores.csv)"),
        RejectedRow(WEEKS, 9, "week", "duplicate store 2 brand 1 week 40 (first seen at line 2); only the first is imported"),
        RejectedRow(WEEKS, 10, "logmove", "not a number: 'many'"),
        RejectedRow(WEEKS, 11, "price3", "no price column price3 for brand 3"),
        RejectedRow(WEEKS, 11, "brand", "unknown brand 3 (not in brands.csv)"),
        RejectedRow(WEEKS, 12, "deal", "2 is above the maximum 1"),
        RejectedRow(WEEKS, 12, "price2", "price must be positive, got 0"),
    ]  # fmt: skip
    assert (report.files[WEEKS].read, report.files[WEEKS].rejected) == (11, 5)
    assert SalesObservation.objects.count() == 6
    assert (
        SalesObservation.objects.get(
            product__sku="DOM-OJ-1", location__code="DOM-2", period_start=date(1990, 6, 14)
        ).units
        == 8256.0
    )


def test_missing_columns_write_nothing_of_that_file(tmp_path):
    weeks = [[c for c in WEEK_HEADER if c != "logmove"]]
    report = dominicks_import(directory=write_dominicks(tmp_path, weeks=weeks))

    assert report.errors == [
        f"{WEEKS}: missing column(s): logmove (found: store, brand, week, constant, price1, price2, deal, feat, profit); "
        "nothing of this file was imported"
    ]
    assert SalesObservation.objects.count() == 0
    assert Product.objects.count() == 2


def test_weeks_file_alone_uses_brands_and_stores_imported_before(tmp_path):
    dominicks_import(directory=write_dominicks(tmp_path / "a"))
    folder = write_dominicks(tmp_path / "b")
    (folder / "brands.csv").unlink()
    (folder / "stores.csv").unlink()

    report = dominicks_import(directory=folder)

    assert sorted(report.errors) == [
        f"brands.csv: file not found: {folder / 'brands.csv'}",
        f"stores.csv: file not found: {folder / 'stores.csv'}",
    ]
    assert report.rejected == []
    assert report.files[WEEKS].tables["inventory.SalesObservation"].unchanged == 6


def test_a_bad_demographic_or_profit_keeps_the_store_and_the_week_without_it(tmp_path):
    stores = [list(r) for r in DOMINICKS_STORES]
    stores[1][1] = "n/a"  # line 2, store 2: AGE60
    weeks = [list(r) for r in DOMINICKS_WEEKS]
    weeks[1][9] = "lots"  # line 2, store 2 brand 1 week 40: profit

    report = dominicks_import(directory=write_dominicks(tmp_path, stores=stores, weeks=weeks))

    assert report.rejected == []
    assert report.warnings == [
        ClearedField("stores.csv", 2, "AGE60", "not a number: 'n/a'"),
        ClearedField(WEEKS, 2, "profit", "not a number: 'lots'"),
    ]
    assert (report.files["stores.csv"].cleared, report.files[WEEKS].cleared, report.cleared_rows) == (1, 1, 2)
    assert Location.objects.get(code="DOM-2").attributes == {
        "source": "dominicks",
        "store": 2,
        "country": "US",
        "income": 10.55,
    }
    week = SalesObservation.objects.get(product__sku="DOM-OJ-1", location__code="DOM-2", period_start=week_start(40))
    assert (week.units, week.profit) == (8256.0, None)
    assert SalesObservation.objects.count() == 6


def test_a_reimport_with_a_bad_demographic_or_profit_keeps_the_stored_value(tmp_path):
    dominicks_import(directory=write_dominicks(tmp_path / "a"))
    stores = [list(r) for r in DOMINICKS_STORES]
    stores[1][1], stores[1][2] = "n/a", "11.0"  # line 2, store 2: AGE60 bad, INCOME changed
    weeks = [list(r) for r in DOMINICKS_WEEKS]
    weeks[1][9] = "lots"  # line 2, store 2 brand 1 week 40: profit

    report = dominicks_import(directory=write_dominicks(tmp_path / "b", stores=stores, weeks=weeks))

    assert (report.rejected, [(w.file, w.line, w.field) for w in report.warnings]) == (
        [],
        [("stores.csv", 2, "AGE60"), (WEEKS, 2, "profit")],
    )
    assert report.files["stores.csv"].tables["inventory.Location"].updated == 1  # the income only
    assert report.files[WEEKS].tables["inventory.SalesObservation"].unchanged == 6
    assert Location.objects.get(code="DOM-2").attributes == {
        "source": "dominicks",
        "store": 2,
        "country": "US",
        "age60": 0.23,
        "income": 11.0,
    }
    week = SalesObservation.objects.get(product__sku="DOM-OJ-1", location__code="DOM-2", period_start=week_start(40))
    assert week.profit == 30.5


def test_command_prints_the_report(tmp_path):
    out = io.StringIO()
    call_command("import_dominicks", str(write_dominicks(tmp_path)), stdout=out)
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert [WEEKS, "6", "0", "0", "inventory.SalesObservation", "6", "0", "0"] in lines  # read, rejected, cleared
    assert ["pricing.Promotion", "2", "0", "0"] in lines

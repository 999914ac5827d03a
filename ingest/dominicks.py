"""Import Dominick's Finer Foods refrigerated orange juice scanner data (the bayesm ``orangeJuice`` set).

Mapping (natural keys in brackets):

- ``brands.csv`` (brand, name) -> catalog.Product [sku ``DOM-OJ-<brand>``] in the category
  "refrigerated orange juice".
- ``stores.csv`` (STORE + demographics) -> inventory.Location [code ``DOM-<store>``], kind store, the
  demographic columns (lower-cased) in ``attributes``, with ``country`` US (Chicago-area stores: the demand
  forecast's holiday calendar).
- ``oj_store_brand_week.csv.gz`` (one row per store, brand and week) ->
  inventory.SalesObservation [product, location, period_start]: ``period_start`` = Thursday 1989-09-14
  + 7·(week − 1) days, 7 days long; ``units`` = exp(logmove) rounded to a whole number (the source is
  log of integer unit counts; the rounding error is below 0.001 units); ``price`` = the brand's own shelf
  price column ``price<brand>`` in $/oz (stored with 4 decimals, as the model allows);
  ``on_display`` = deal; ``on_feature`` = feat ≥ 0.5 (feat is a share of the week in a few rows: 0.04,
  0.5, 0.96); ``profit`` as given.
- The same rows -> pricing.PriceHistory [product, location, effective_from]: consecutive observed weeks
  with the same price are collapsed into one row from the first week's start to the last week's end
  (``effective_to``); a week with no record ends the row, since the price then is unknown.
- deal / feat -> pricing.Promotion [product, location, kind, starts_on]: deal = in-store promotion, kind
  ``display``; feat = feature advertising, kind ``feature``. Consecutive promoted weeks form one promotion.

Rows that reach no brand or store, repeat a store-brand-week, or carry bad numbers are rejected with
their line and column; everything else is kept. A bad value in an optional column (a store's demographic,
a week's profit) is left out with a warning and the row kept: the store's weeks, or the week's units and
price, do not depend on it. A store or week imported before keeps its stored value of it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from catalog.models import Category, Product
from inventory.models import Location, SalesObservation
from pricing.models import PriceHistory, Promotion

from .reader import DuplicateTracker, Row, read_csv
from .report import ImportReport
from .upsert import Incoming, import_lock, pk_map, upsert

logger = logging.getLogger(__name__)

BRANDS = "brands.csv"
STORES = "stores.csv"
WEEKS = "oj_store_brand_week.csv.gz"
WEEK_ONE = date(1989, 9, 14)
CATEGORY_NAME = "refrigerated orange juice"
COUNTRY = "US"  # Dominick's Finer Foods: Chicago-area stores
PRICE_PLACES = Decimal("0.0001")
FEATURE_THRESHOLD = 0.5
PRICE_NOTE = "Dominick's weekly shelf price ($/oz)"
MAX_LOGMOVE = 25.0  # exp(25) ~ 7e10 units a week: anything above is not a unit count

COLUMNS = {
    BRANDS: ["brand", "name"],
    STORES: ["STORE"],
    WEEKS: ["store", "brand", "week", "logmove", "deal", "feat", "profit"],
}


def product_sku(brand: int) -> str:
    return f"DOM-OJ-{brand}"


def location_code(store: int) -> str:
    return f"DOM-{store}"


def week_start(week: int) -> date:
    """The Thursday that starts Dominick's week ``week`` (week 1 starts 1989-09-14)."""
    return WEEK_ONE + timedelta(days=7 * (week - 1))


def _weeks_path(directory: Path) -> Path:
    gz = directory / WEEKS
    plain = directory / WEEKS.removesuffix(".gz")
    return gz if gz.exists() or not plain.exists() else plain


def dominicks_import(*, directory: Path, encoding: str = "auto") -> ImportReport:
    """Import (or re-import) a Dominick's orange juice folder; idempotent. Returns the report."""
    started = time.perf_counter()
    directory = Path(directory)
    report = ImportReport(source=f"dominicks {directory}")
    if not directory.is_dir():
        report.file(str(directory)).error = "not a directory"
        return report

    with import_lock():
        brand_pks = _brands(report, directory, encoding)
        store_pks = _stores(report, directory, encoding)
        _weeks(report, _weeks_path(directory), encoding, brand_pks, store_pks)

    report.seconds = time.perf_counter() - started
    logger.info(
        "dominicks import: %d created, %d updated, %d rejected", report.created, report.updated, len(report.rejected)
    )
    return report


def _rejecter(report: ImportReport, name: str):
    def reject(row: Incoming, reason: str) -> None:
        report.file(name).rejected += 1
        report.reject(file=name, line=row.line, field="-", reason=reason)

    return reject


def _brands(report: ImportReport, directory: Path, encoding: str) -> dict[int, int]:
    table = read_csv(directory / BRANDS, required=COLUMNS[BRANDS], report=report, encoding=encoding)
    if table is None:
        return {}
    file_report = report.file(BRANDS)
    upsert(
        model=Category,
        rows=[Incoming(1, {"name": CATEGORY_NAME, "name_en": CATEGORY_NAME})],
        key=["name"],
        fields=[],
        conflict_upsert=False,
        count=file_report.table("catalog.Category"),
        on_error=_rejecter(report, BRANDS),
    )
    category_pk = Category.objects.get(name=CATEGORY_NAME).pk
    name_len = Product._meta.get_field("name").max_length
    seen = DuplicateTracker()
    rows = []
    brands = {}
    for line, values in table.rows:
        row = Row(table, line, values)
        brand = row.integer("brand", min_value=1)
        name = row.text("name", required=True, max_length=name_len)
        if brand is not None:
            seen.check(row, brand, column="brand", label=f"brand {brand}")
        if not row.report_into(report):
            continue
        brands[product_sku(brand)] = brand
        rows.append(Incoming(line, {"sku": product_sku(brand), "name": name, "category_id": category_pk}))
    upsert(
        model=Product,
        rows=rows,
        key=["sku"],
        fields=["name", "category_id"],
        count=file_report.table("catalog.Product"),
        on_error=_rejecter(report, BRANDS),
    )
    return {brands[sku]: pk for sku, pk in pk_map(Product, "sku", brands).items()}


def _stores(report: ImportReport, directory: Path, encoding: str) -> dict[int, int]:
    table = read_csv(directory / STORES, required=COLUMNS[STORES], report=report, encoding=encoding)
    if table is None:
        return {}
    seen = DuplicateTracker()
    rows = []
    stores = {}
    demographic_columns = [c for c in table.columns if c != "STORE"]
    for line, values in table.rows:
        row = Row(table, line, values)
        store = row.integer("STORE", min_value=1)
        attributes = {}
        for column in demographic_columns:
            value = row.number(column, required=False)
            if value is not None:
                attributes[column.lower()] = value
        if store is not None:
            seen.check(row, store, column="STORE", label=f"store {store}")
        if not row.report_into(report):
            continue
        stores[location_code(store)] = store
        rows.append(
            Incoming(
                line,
                {
                    "code": location_code(store),
                    "name": f"Dominick's store {store}",
                    "kind": Location.Kind.STORE,
                    "attributes": {"source": "dominicks", "store": store, "country": COUNTRY, **attributes},
                },
                row.keep_stored({column: f"attributes.{column.lower()}" for column in demographic_columns}),
            )
        )
    upsert(
        model=Location,
        rows=rows,
        key=["code"],
        fields=["name", "kind", "attributes"],
        count=report.file(STORES).table("inventory.Location"),
        on_error=_rejecter(report, STORES),
    )
    return {stores[code]: pk for code, pk in pk_map(Location, "code", stores).items()}


def _stored_pks(model, field: str, make_key, wanted: set[int], known: dict[int, int]) -> dict[int, int]:
    """``known`` plus rows imported before (a weeks file re-imported without brands or stores)."""
    missing = wanted - known.keys()
    if not missing:
        return known
    found = pk_map(model, field, [make_key(m) for m in missing])
    return {**known, **{m: found[make_key(m)] for m in missing if make_key(m) in found}}


def _weeks(report: ImportReport, path: Path, encoding: str, brand_pks: dict[int, int], store_pks: dict[int, int]):
    table = read_csv(path, required=COLUMNS[WEEKS], report=report, encoding=encoding)
    if table is None:
        return
    name = table.name

    def ints(column: str) -> set[int]:
        out = set()
        for _, values in table.rows:
            with contextlib.suppress(ValueError):
                out.add(int(values[column]))
        return out

    brand_pks = _stored_pks(Product, "sku", product_sku, ints("brand"), brand_pks)
    store_pks = _stored_pks(Location, "code", location_code, ints("store"), store_pks)
    columns = set(table.columns)
    seen = DuplicateTracker()
    observations = []
    # (product pk, location pk) -> [(week, price, deal, feature, line)]
    series: dict[tuple[int, int], list[tuple[int, Decimal, bool, bool, int]]] = defaultdict(list)
    for line, values in table.rows:
        row = Row(table, line, values)
        store = row.integer("store", min_value=1)
        brand = row.integer("brand", min_value=1)
        week = row.integer("week", min_value=1, max_value=5000)
        logmove = row.number("logmove", max_value=MAX_LOGMOVE)
        deal = row.integer("deal", min_value=0, max_value=1)
        feat = row.number("feat", min_value=0, max_value=1)
        profit = row.number("profit", required=False)
        price = None
        if brand is not None:
            price_column = f"price{brand}"
            if price_column not in columns:
                row.error(price_column, f"no price column {price_column} for brand {brand}")
            else:
                price = row.decimal(price_column, places=4)
                if price is not None and price <= 0:
                    row.error(price_column, f"price must be positive, got {row.raw(price_column)}")
            if brand not in brand_pks:
                row.error("brand", f"unknown brand {brand} (not in {BRANDS})")
        if store is not None and store not in store_pks:
            row.error("store", f"unknown store {store} (not in {STORES})")
        if None not in (store, brand, week):
            seen.check(row, (store, brand, week), column="week", label=f"store {store} brand {brand} week {week}")
        if not row.report_into(report):
            continue
        product_pk, location_pk = brand_pks[brand], store_pks[store]
        on_feature = feat >= FEATURE_THRESHOLD
        observations.append(
            Incoming(
                line,
                {
                    "product_id": product_pk,
                    "location_id": location_pk,
                    "period_start": week_start(week),
                    "period_days": 7,
                    "units": float(round(math.exp(logmove))),
                    "price": price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP),
                    "on_display": bool(deal),
                    "on_feature": on_feature,
                    "on_discount": False,
                    "profit": profit,
                },
                row.keep_stored({"profit": "profit"}),
            )
        )
        series[(product_pk, location_pk)].append((week, price, bool(deal), on_feature, line))

    file_report = report.file(name)
    upsert(
        model=SalesObservation,
        rows=observations,
        key=["product_id", "location_id", "period_start"],
        fields=["period_days", "units", "price", "on_display", "on_feature", "on_discount", "profit"],
        count=file_report.table("inventory.SalesObservation"),
        on_error=_rejecter(report, name),
        batch_size=5000,
    )
    prices, promotions = _runs(series)
    upsert(
        model=PriceHistory,
        rows=prices,
        key=["product_id", "location_id", "effective_from"],
        fields=["price", "effective_to", "source", "note"],
        conflict_upsert=False,
        count=file_report.table("pricing.PriceHistory"),
        on_error=_rejecter(report, name),
        batch_size=5000,
    )
    upsert(
        model=Promotion,
        rows=promotions,
        key=["product_id", "location_id", "kind", "starts_on"],
        fields=["ends_on"],
        conflict_upsert=False,
        count=file_report.table("pricing.Promotion"),
        on_error=_rejecter(report, name),
        batch_size=5000,
    )


def _price_row(pair: tuple[int, int], run: list) -> Incoming:
    first, last, price, line = run
    return Incoming(
        line,
        {
            "product_id": pair[0],
            "location_id": pair[1],
            "effective_from": week_start(first),
            "effective_to": week_start(last) + timedelta(days=6),
            "price": price,
            "source": PriceHistory.Source.IMPORT,
            "note": PRICE_NOTE,
        },
    )


def _promotion_row(pair: tuple[int, int], kind: str, run: list) -> Incoming:
    first, last, line = run
    return Incoming(
        line,
        {
            "product_id": pair[0],
            "location_id": pair[1],
            "kind": kind,
            "starts_on": week_start(first),
            "ends_on": week_start(last) + timedelta(days=6),
        },
    )


def _runs(series) -> tuple[list[Incoming], list[Incoming]]:
    """Collapse each product-location's weeks into price rows and promotion periods (module docstring)."""
    prices: list[Incoming] = []
    promotions: list[Incoming] = []
    for pair, weeks in series.items():
        weeks.sort()
        price_run: list | None = None  # [first week, last week, price, line]
        promo_runs: dict[str, list | None] = {Promotion.Kind.DISPLAY: None, Promotion.Kind.FEATURE: None}
        previous_week = None
        for week, price, deal, feature, line in weeks:
            consecutive = previous_week is not None and week == previous_week + 1
            if price_run is not None and consecutive and price_run[2] == price:
                price_run[1] = week
            else:
                if price_run is not None:
                    prices.append(_price_row(pair, price_run))
                price_run = [week, week, price, line]
            for kind, flag in ((Promotion.Kind.DISPLAY, deal), (Promotion.Kind.FEATURE, feature)):
                run = promo_runs[kind]
                if flag and run is not None and consecutive:
                    run[1] = week
                    continue
                if run is not None:
                    promotions.append(_promotion_row(pair, kind, run))
                promo_runs[kind] = [week, week, line] if flag else None
            previous_week = week
        if price_run is not None:
            prices.append(_price_row(pair, price_run))
        for kind, run in promo_runs.items():
            if run is not None:
                promotions.append(_promotion_row(pair, kind, run))
    return prices, promotions

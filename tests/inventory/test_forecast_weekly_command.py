"""forecast_demand on a database holding only weekly point-of-sale data imported with import_dominicks: period
alignment with --as-of, --horizon 1, an as-of after the data, data after as-of ignored to the byte, and what the
horizon may know of prices and promotions (the PriceHistory / Promotion rows in force over it: the plan), while units
sold on or after as-of never matter."""

import csv
import gzip
import math
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from ingest.dominicks import dominicks_import, location_code, product_sku, week_start
from inventory.forecasting import demand_data, holiday_country
from inventory.ml.calendar import holiday_flags
from inventory.ml.panel import build_panel
from inventory.models import Location, SalesObservation
from pricing.models import PriceHistory, Promotion

HISTORY_WEEKS = 40  # weeks 1..40 before the cut; 41..50 are "later weeks"
ALL_WEEKS = 50
AS_OF = week_start(HISTORY_WEEKS + 1)  # a Thursday: 1990-06-21
BRANDS = (1, 2)
STORES = (5, 8)


@pytest.fixture(autouse=True)
def fast_model(settings):
    settings.ECOMOPS_DEMAND_GLOBAL_PARAMS = {"max_iter": 20, "max_rows": 5_000}


def _write_folder(path, last_week: int):
    """A small Dominick's folder: every fourth week a deal (price cut, twice the units; weeks 2, 6, ... 42), a
    feature advertisement over two weeks every eighth (weeks 8-9 ... 40-41: one straddles as-of, as does the
    price run of weeks 39-41); brand 2 misses week 7."""
    path.mkdir()
    (path / "brands.csv").write_text("brand,name\n1,Juice A\n2,Juice B\n")
    (path / "stores.csv").write_text("STORE,AGE60\n5,0.2\n8,0.3\n")
    lines = ["store,brand,week,logmove,price1,price2,deal,feat,profit"]
    for store in STORES:
        for brand in BRANDS:
            for week in range(1, last_week + 1):
                if brand == 2 and week == 7:
                    continue
                deal = int(week % 4 == 2)
                units = (100 + 30 * brand + 7 * store + week % 3) * (2 if deal else 1)
                prices = [0.04 - 0.01 * deal if b == brand else 0.035 for b in BRANDS]
                lines.append(
                    f"{store},{brand},{week},{math.log(units)!r},{prices[0]},{prices[1]},{deal},"
                    f"{1.0 if week % 8 in (0, 1) else 0.0},10.0"
                )
    with gzip.open(path / "oj_store_brand_week.csv.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def _import(tmp_path, name: str, last_week: int):
    report = dominicks_import(directory=_write_folder(tmp_path / name, last_week))
    assert report.ok and not report.rejected


def _forecast(tmp_path, *, as_of: date, horizon: int) -> list[list[str]]:
    target = tmp_path / f"forecast-{as_of}-{horizon}.csv"
    call_command("forecast_demand", "--as-of", as_of.isoformat(), "--horizon", str(horizon), "--export", str(target))
    with open(target, newline="") as handle:
        return list(csv.reader(handle))


def _series_keys():
    return sorted((product_sku(b), location_code(s)) for b in BRANDS for s in STORES)


def test_weekly_export_starts_at_the_as_of_week_and_has_horizon_rows_per_series(db, tmp_path):
    _import(tmp_path, "history", HISTORY_WEEKS)
    rows = _forecast(tmp_path, as_of=AS_OF, horizon=3)
    assert rows[0] == ["sku", "location", "period_start", "p10", "p50", "p90", "model_version"]
    body = rows[1:]
    assert [(r[0], r[1]) for r in body[::3]] == _series_keys()
    starts = [AS_OF + timedelta(weeks=k) for k in range(3)]
    assert [r[2] for r in body] == [d.isoformat() for d in starts] * 4
    assert all(float(r[3]) <= float(r[4]) <= float(r[5]) for r in body)


def test_horizon_one_gives_one_row_per_series_at_the_as_of_week(db, tmp_path):
    _import(tmp_path, "history", HISTORY_WEEKS)
    body = _forecast(tmp_path, as_of=AS_OF, horizon=1)[1:]
    assert [(r[0], r[1], r[2]) for r in body] == [(sku, loc, AS_OF.isoformat()) for sku, loc in _series_keys()]


def test_as_of_after_the_data_forecasts_the_weeks_from_as_of_on(db, tmp_path):
    # given: weekly data ending three weeks and two days before as-of (a Saturday)
    _import(tmp_path, "history", HISTORY_WEEKS)
    as_of = AS_OF + timedelta(weeks=3, days=2)
    body = _forecast(tmp_path, as_of=as_of, horizon=2)[1:]
    # then: the first whole week starting on or after as-of, and the next one (Thursdays, as the data's weeks)
    first = AS_OF + timedelta(weeks=4)
    assert [r[2] for r in body] == [first.isoformat(), (first + timedelta(weeks=1)).isoformat()] * 4


def test_sales_after_as_of_leave_the_export_byte_identical(db, tmp_path):
    # given: the full folder (ten weeks after as-of: their sales, prices, deals, and runs that straddle as-of)
    _import(tmp_path, "full", ALL_WEEKS)
    assert PriceHistory.objects.filter(effective_from__lt=AS_OF, effective_to__gte=AS_OF).count() == 4
    assert Promotion.objects.filter(kind="feature", starts_on__lt=AS_OF, ends_on__gte=AS_OF).count() == 4
    with_later = _forecast(tmp_path, as_of=AS_OF, horizon=4)
    # when: every unit sold on or after as-of is changed (tenfold), or the later weeks' sales are deleted
    later = SalesObservation.objects.filter(period_start__gte=AS_OF)
    assert later.count() == 4 * (ALL_WEEKS - HISTORY_WEEKS)
    for observation in later:
        observation.units = observation.units * 10
        observation.save(update_fields=["units"])
    tenfold = _forecast(tmp_path, as_of=AS_OF, horizon=4)
    later.delete()
    deleted = _forecast(tmp_path, as_of=AS_OF, horizon=4)
    # then: the same bytes, the version number aside
    assert [r[:-1] for r in with_later] == [r[:-1] for r in tenfold] == [r[:-1] for r in deleted]
    assert [{r[-1] for r in rows[1:]} for rows in (with_later, tenfold, deleted)] == [{"1"}, {"2"}, {"3"}]


def _future(as_of: date, horizon: int):
    (data,) = demand_data(as_of=as_of, horizon=horizon)
    return data.future.assign(key=data.future["series_id"]).sort_values(["key", "ds"])


def test_horizon_prices_and_promotions_are_unknown_without_plans(db, tmp_path):
    _import(tmp_path, "history", HISTORY_WEEKS)
    future = _future(AS_OF, 2)
    assert len(future) == 8
    # the import's price runs and deals end with the data: nothing is known of the horizon
    assert future["price"].isna().all()
    for kind in ("display", "feature", "discount"):
        assert future[f"promo_{kind}"].isna().all()


def test_plans_made_for_the_horizon_are_used(db, tmp_path):
    # given: the data ends at as-of; a price planned from the second horizon week for brand 1 everywhere, and a
    # display promotion in the first horizon week at store 5
    _import(tmp_path, "history", HISTORY_WEEKS)
    from catalog.models import Product
    from inventory.models import Location

    brand1 = Product.objects.get(sku=product_sku(1))
    store5 = Location.objects.get(code=location_code(5))
    PriceHistory.objects.create(product=brand1, price="0.0450", effective_from=AS_OF + timedelta(weeks=1))
    Promotion.objects.create(product=brand1, location=store5, kind="display", starts_on=AS_OF, ends_on=AS_OF)
    future = _future(AS_OF, 2)
    by_series = {sid: group for sid, group in future.groupby("series_id")}
    store8 = Location.objects.get(code=location_code(8))
    brand2 = Product.objects.get(sku=product_sku(2))
    # then: brand 1's horizon price is its last price (0.04) until the plan starts
    assert by_series[f"{brand1.pk}:{store5.pk}"]["price"].tolist() == [0.04, 0.045]
    assert by_series[f"{brand1.pk}:{store8.pk}"]["price"].tolist() == [0.04, 0.045]
    # brand 2 has no plan: unknown
    assert by_series[f"{brand2.pk}:{store5.pk}"]["price"].isna().all()
    # store 5 plans its promotions here: the display week is 1, the next week 0 (none planned), for both brands
    assert by_series[f"{brand1.pk}:{store5.pk}"]["promo_display"].tolist() == [1.0, 0.0]
    assert by_series[f"{brand2.pk}:{store5.pk}"]["promo_display"].tolist() == [0.0, 0.0]
    # store 8 has no plan: unknown
    assert by_series[f"{brand1.pk}:{store8.pk}"]["promo_display"].isna().all()


def test_an_import_of_later_weeks_gives_the_horizon_their_prices_and_deals_as_the_plan(db, tmp_path):
    # given: the full folder, forecast from inside it
    _import(tmp_path, "full", ALL_WEEKS)
    future = _future(AS_OF, 3)
    from catalog.models import Product
    from inventory.models import Location

    brand1 = Product.objects.get(sku=product_sku(1))
    store5 = Location.objects.get(code=location_code(5))
    weeks = future[future["series_id"] == f"{brand1.pk}:{store5.pk}"]
    # then: weeks 41-43 carry brand 1's recorded shelf price and deal (week 42: a deal at 0.03) and features
    # (week 41: the run of weeks 40-41)
    assert weeks["price"].tolist() == [0.04, 0.03, 0.04]
    assert weeks["promo_display"].tolist() == [0.0, 1.0, 0.0]
    assert weeks["promo_feature"].tolist() == [1.0, 0.0, 0.0]


def test_dominicks_stores_forecast_with_the_us_holiday_calendar(db, tmp_path):
    # given: Dominick's (Chicago-area) stores imported; the default calendar is Brazil's
    _import(tmp_path, "history", HISTORY_WEEKS)
    assert holiday_country() == "BR"
    # when: the forecast's panel is built
    (data,) = demand_data(as_of=AS_OF, horizon=4)
    panel = build_panel(
        data.history, future=data.future, horizon=4, static=data.static, freq="W", country=holiday_country()
    )
    # then: every series has the US holidays (the horizon's second week holds the 4th of July), not Brazil's
    us, br = (holiday_flags(panel.dates, freq="W", country=c) for c in ("US", "BR"))
    assert us[panel.n_history + 1] == 1.0 and br[panel.n_history + 1] == 0.0
    assert (panel.covariates["holiday"] == us).all()
    # and: a store that names no country has the default calendar
    store = Location.objects.get(code=location_code(8))
    store.attributes = {k: v for k, v in store.attributes.items() if k != "country"}
    store.save(update_fields=["attributes"])
    (data,) = demand_data(as_of=AS_OF, horizon=4)
    panel = build_panel(
        data.history, future=data.future, horizon=4, static=data.static, freq="W", country=holiday_country()
    )
    at_store8 = data.static.set_index("series_id")["country"].eq("").reindex(panel.series_ids).to_numpy()
    assert at_store8.sum() == 2
    assert (panel.covariates["holiday"][at_store8] == br).all()
    assert (panel.covariates["holiday"][~at_store8] == us).all()

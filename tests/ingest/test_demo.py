"""The synthetic demo store (generator and loader) and setup_demo."""

import io
import subprocess
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum

from catalog.models import Customer, Product
from feedback.models import Review
from ingest.demo import REVIEW_TEXTS, DemoSpec, demo_generate
from ingest.demo_loader import demo_load
from ingest.services import DEMO_PASSWORD, demo_setup
from inventory.models import Location, StockLevel, StockMovement
from logistics.models import Shipment
from orders.models import Order, OrderLine, Payment
from pricing.models import PriceHistory, Promotion

from .files import write_dominicks, write_olist

SMALL = DemoSpec(seed=11, end=date(2025, 6, 30), days=120, products=20, customers=60, orders_per_day=6.0)


@pytest.fixture(scope="module")
def small():
    return demo_generate(SMALL)


@pytest.fixture(scope="module")
def year():
    return demo_generate(DemoSpec(seed=3, end=date(2025, 12, 31), days=365, products=80, customers=400))


def test_same_seed_same_store_other_seed_other_store(small):
    assert demo_generate(SMALL) == small
    other = demo_generate(DemoSpec(**{**SMALL.__dict__, "seed": 12}))
    assert other.orders != small.orders


def test_sizes_follow_the_spec(small):
    assert (len(small.products), len(small.customers), len(small.warehouses), len(small.categories)) == (20, 60, 3, 7)
    assert len({p["sku"] for p in small.products}) == 20
    assert len(small.payments) == len(small.orders)
    # about orders_per_day orders a day (Poisson noise, growth and seasons around it)
    assert 0.6 * 6 * 120 < len(small.orders) < 1.6 * 6 * 120


def test_orders_are_consistent(small):
    lines_by_order = {}
    for line in small.lines:
        lines_by_order.setdefault(line["order"], []).append(line)
    payments = {p["order"]: p for p in small.payments}
    customers = {c["external_id"] for c in small.customers}
    skus = {p["sku"] for p in small.products}
    for order in small.orders:
        lines = lines_by_order[order["external_id"]]
        assert [line["line_number"] for line in lines] == list(range(1, len(lines) + 1))
        assert {line["sku"] for line in lines} <= skus and len({line["sku"] for line in lines}) == len(lines)
        assert order["customer"] in customers
        assert payments[order["external_id"]]["value"] == sum(
            (line["unit_price"] * line["quantity"] + line["freight"] for line in lines), Decimal("0")
        )
        assert order["purchased_at"].date() <= SMALL.end
        assert order["promised_delivery_date"] > order["purchased_at"].date()
        if order["status"] == "delivered":
            assert order["purchased_at"] < order["approved_at"] < order["handed_to_carrier_at"] < order["delivered_at"]
        else:
            assert order["delivered_at"] is None
    shipped = {o["external_id"] for o in small.orders if o["status"] in ("shipped", "delivered")}
    assert {s["order"] for s in small.shipments} == shipped


def test_review_text_matches_its_score_and_language(small):
    assert small.reviews
    for review in small.reviews:
        mood = "negative" if review["score"] <= 2 else "neutral" if review["score"] == 3 else "positive"
        assert (review["title"], review["text"]) in REVIEW_TEXTS[(review["language"], mood)]


def test_prices_include_planned_future_prices_and_promotions(small):
    assert any(p["effective_from"] > SMALL.end for p in small.prices)
    assert all(p["price"] > 0 for p in small.prices)
    assert all(p["ends_on"] >= p["starts_on"] for p in small.promotions)
    assert {p["kind"] for p in small.promotions} == {"discount"}


def test_demand_has_weekly_seasonality_price_response_and_late_deliveries_score_lower(year):
    weekdays = Counter(o["purchased_at"].weekday() for o in year.orders)
    assert weekdays[0] > weekdays[5] * 1.15  # Mondays beat Saturdays

    # A product sells more per day on discount than at its list price.
    promoted_days = {}
    for promo in year.promotions:
        day = promo["starts_on"]
        while day <= promo["ends_on"]:
            promoted_days.setdefault(promo["sku"], set()).add(day)
            day = date.fromordinal(day.toordinal() + 1)
    on, off = Counter(), Counter()
    order_day = {o["external_id"]: o["purchased_at"].date() for o in year.orders}
    for line in year.lines:
        promoted = order_day[line["order"]] in promoted_days.get(line["sku"], ())
        (on if promoted else off)[line["sku"]] += line["quantity"]
    days_on = {sku: len([d for d in ds if d <= date(2025, 12, 31)]) for sku, ds in promoted_days.items()}
    ratios = [
        (on[sku] / days_on[sku]) / (off[sku] / (365 - days_on[sku]))
        for sku in days_on
        if days_on[sku] >= 7 and off[sku] >= 20
    ]
    assert len(ratios) >= 20
    assert np.median(ratios) > 1.3

    orders = {o["external_id"]: o for o in year.orders}
    late, on_time = [], []
    for review in year.reviews:
        order = orders[review["order"]]
        if order["status"] != "delivered":
            continue
        late_delivery = order["delivered_at"].date() > order["promised_delivery_date"]
        (late if late_delivery else on_time).append(review["score"])
    assert late and on_time
    assert np.mean(late) < np.mean(on_time) - 1.0


@pytest.mark.django_db
def test_load_writes_every_row_and_a_second_load_changes_nothing(small):
    report = demo_load(small)

    assert report.rejected == []
    assert Product.objects.count() == 20
    assert Customer.objects.count() == 60
    assert Order.objects.count() == len(small.orders)
    assert OrderLine.objects.count() == len(small.lines)
    assert Payment.objects.count() == len(small.payments)
    assert Shipment.objects.count() == len(small.shipments)
    assert Review.objects.count() == len(small.reviews)
    assert set(Review.objects.values_list("language", flat=True)) <= {"pt", "en", "zh"}
    assert PriceHistory.objects.filter(location__isnull=True).count() == len(small.prices)
    assert Promotion.objects.count() == len(small.promotions)
    assert Location.objects.filter(kind=Location.Kind.WAREHOUSE).count() == 3
    # stock came through the ledger: every level equals the sum of its movements
    assert StockMovement.objects.count() == len(small.stock)
    for level in StockLevel.objects.all():
        movements = StockMovement.objects.filter(product=level.product, location=level.location)
        assert level.on_hand == movements.aggregate(total=Sum("on_hand_delta"))["total"]
    assert StockLevel.objects.aggregate(total=Sum("on_hand"))["total"] == sum(s["quantity"] for s in small.stock)

    again = demo_load(small)

    assert (again.created, again.updated, again.rejected) == (0, 0, [])
    assert StockMovement.objects.count() == len(small.stock)


@pytest.mark.django_db
def test_setup_demo_without_real_data_loads_the_synthetic_store_and_the_operator(tmp_path):
    out = io.StringIO()
    call_command(
        "setup_demo",
        "--data-dir",
        str(tmp_path),
        "--days",
        "30",
        "--end",
        "2025-03-31",
        "--no-train",
        "--allow-without-debug",
        stdout=out,
    )

    assert "Demo ready: synthetic store (seed 2026, 30 days to 2025-03-31)." in out.getvalue()
    assert Product.objects.count() == 200
    assert Order.objects.filter(purchased_at__date__gt=date(2025, 3, 31)).count() == 0
    assert Order.objects.count() > 0
    user = get_user_model().objects.get(username="demo")
    assert (user.is_staff, user.is_superuser, user.check_password(DEMO_PASSWORD)) == (True, False, True)
    assert "operator" in set(user.groups.values_list("name", flat=True))
    assert user.has_perm("catalog.view_product") and user.has_perm("ecomops.view_jobrun")
    assert user.has_perm("orders.change_order") and user.has_perm("pricing.add_promotion")
    assert user.has_perm("inventory.add_stockmovement")
    # the ledger is append-only: no change right is granted for it here (role groups are access's business)
    assert not user.user_permissions.filter(codename__in=["change_stockmovement", "change_stocklevel"]).exists()
    assert not user.has_perm("auth.change_user")

    # again, anchored on the first run's end date: nothing changes
    out = io.StringIO()
    call_command(
        "setup_demo",
        "--data-dir",
        str(tmp_path),
        "--days",
        "30",
        "--end",
        "2025-03-31",
        "--no-train",
        "--allow-without-debug",
        stdout=out,
    )
    assert "total: 0 created, 0 updated, 0 rows rejected (0 reasons)" in out.getvalue()
    assert get_user_model().objects.filter(username="demo").count() == 1


@pytest.mark.django_db
def test_setup_demo_imports_real_data_when_present_and_survives_a_training_failure(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    write_olist(tmp_path / "olist")
    write_dominicks(tmp_path / "dominicks_oj")
    lines = []
    failing = mock.Mock(pid=4242, **{"wait.return_value": 1})

    with (
        mock.patch("django.core.management.get_commands", return_value={"train_models": "ecomops"}),
        mock.patch("ingest.services.subprocess.Popen", return_value=failing) as popen,
    ):
        outcome = demo_setup(data_dir=tmp_path, write=lines.append)

    assert outcome.mode == f"real data from {tmp_path}"
    assert [r.source for r in outcome.reports] == [
        f"olist {tmp_path / 'olist'}",
        f"dominicks {tmp_path / 'dominicks_oj'}",
    ]
    assert Order.objects.count() == 3
    assert Product.objects.filter(sku__startswith="DOM-OJ-").count() == 2
    assert popen.call_args.args[0][-2:] == [str(Path(settings.BASE_DIR) / "manage.py"), "train_models"]
    log = tmp_path / "train_models.log"
    assert outcome.training_error == f"train_models exited with status 1; see {log}"
    assert lines[-1] == f"train_models exited with status 1; see {log}; the demo continues without those models"
    assert get_user_model().objects.filter(username="demo", is_staff=True).exists()


@pytest.mark.django_db
def test_setup_demo_leaves_slow_training_to_the_background(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    slow = mock.Mock(pid=4243, **{"wait.side_effect": subprocess.TimeoutExpired("train_models", 5)})

    with (
        mock.patch("django.core.management.get_commands", return_value={"train_models": "ecomops"}),
        mock.patch("ingest.services.subprocess.Popen", return_value=slow),
    ):
        outcome = demo_setup(data_dir=tmp_path, spec=SMALL, write=lambda line: None)

    assert outcome.training_error == ""
    assert (
        outcome.trained == f"still training in the background (pid 4243); progress in {tmp_path / 'train_models.log'}"
    )
    assert 0 < slow.wait.call_args.kwargs["timeout"] <= 170


def test_setup_demo_refuses_to_create_the_published_login_with_debug_off(settings, db):
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("setup_demo", "--no-train")
    assert not get_user_model().objects.filter(username="demo").exists()

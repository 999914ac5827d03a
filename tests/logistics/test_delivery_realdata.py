"""predict_delivery on the real Olist sample gives the benchmark's promises (benchmarks/delivery_olist.py)."""

import csv
from datetime import UTC, datetime

import pandas as pd
import pytest
from django.core.management import call_command

from feedback.models import Review
from ingest.olist import olist_import
from logistics.ml.delivery import DeliveryParams, DeliveryTimeModel, delivery_metrics, known_as_of
from logistics.ml.olist import olist_order_frame
from logistics.models import Shipment
from orders.models import Order
from tests.conftest import shared_data

pytestmark = [pytest.mark.django_db, pytest.mark.realdata, pytest.mark.slow]


def test_command_path_promises_equal_the_benchmarks_for_the_same_orders(tmp_path):
    """The frame read from the database and the one read from the files give the same model, to the date."""
    folder = shared_data("olist")
    assert olist_import(directory=folder).ok
    export = tmp_path / "eta.csv"

    call_command("predict_delivery", "--as-of", "2018-04-01", "--export", str(export), "--target-late-share", "0.04")

    frame = olist_order_frame(folder)
    as_of = pd.Timestamp("2018-04-01")
    scored = frame[(frame["purchased_at"] >= as_of) & frame["delivered_at"].notna() & (frame["status"] != "canceled")]
    scored = scored[scored["purchased_at"] < as_of + pd.Timedelta(days=30)].reset_index(drop=True)
    model = DeliveryTimeModel(DeliveryParams(target_late_share=0.04))
    benchmark = model.fit(known_as_of(frame[frame["purchased_at"] < as_of], as_of), as_of=as_of).predict(
        known_as_of(scored, as_of)
    )
    with open(export, newline="") as handle:
        exported = {row["order_id"]: row for row in csv.DictReader(handle)}
    command = pd.DataFrame(
        {
            "eta_date": [exported[o]["eta_date"] for o in scored["order_id"]],
            "promise_date": [exported[o]["promise_date"] for o in scored["order_id"]],
        }
    )

    assert len(exported) == 1002 and len(scored) == 386
    assert command["eta_date"].tolist() == [d.isoformat() for d in benchmark["eta_date"]]
    assert command["promise_date"].tolist() == [d.isoformat() for d in benchmark["promise_date"]]
    metrics = delivery_metrics(command, scored["delivered_at"])
    assert (
        round(metrics["late_share"], 4),
        round(metrics["mean_slack_days"], 2),
        round(metrics["eta_mae_days"], 2),
    ) == (
        0.0233,
        16.01,
        4.67,
    )


def _known_at(as_of: datetime) -> None:
    """Rewrite the database as it stood at ``as_of``: every later fact blanked, later orders as placed (status
    unknown, no shipment, no review)."""
    for field in ("approved_at", "handed_to_carrier_at", "delivered_at"):
        Order.objects.filter(**{f"{field}__gte": as_of}).update(**{field: None})
    Order.objects.filter(delivered_at__isnull=True).update(status=Order.Status.APPROVED)
    Shipment.objects.filter(order__handed_to_carrier_at__isnull=True, order__delivered_at__isnull=True).delete()
    for field in ("shipped_at", "delivered_at"):
        Shipment.objects.filter(**{f"{field}__gte": as_of}).update(**{field: None})
    Review.objects.filter(created_at_source__gte=as_of).delete()


def test_command_predictions_use_nothing_known_after_as_of(tmp_path):
    """The same export from the full database and from the database as it stood at as-of (1,002 open orders)."""
    assert olist_import(directory=shared_data("olist")).ok
    call_command("predict_delivery", "--as-of", "2018-04-01", "--export", str(tmp_path / "full.csv"))
    _known_at(datetime(2018, 4, 1, tzinfo=UTC))
    assert not Order.objects.filter(delivered_at__gte=datetime(2018, 4, 1, tzinfo=UTC)).exists()

    call_command("predict_delivery", "--as-of", "2018-04-01", "--export", str(tmp_path / "known.csv"))

    with open(tmp_path / "full.csv", newline="") as full, open(tmp_path / "known.csv", newline="") as known:
        full_rows, known_rows = list(csv.reader(full)), list(csv.reader(known))
    assert len(full_rows) == len(known_rows) == 1003
    assert [r[:5] for r in full_rows] == [r[:5] for r in known_rows]
    assert {r[5] for r in known_rows[1:]} == {"delivery v2"}

"""predict_delivery: leak-free training as of a date, stored predictions, the exact export."""

import csv
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from logistics.models import DeliveryPrediction
from logistics.services import EXPORT_COLUMNS

from .factories import delivery_history

AS_OF = date(2017, 12, 1)


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.django_db
def test_predict_delivery_exports_open_orders_with_exact_columns(tmp_path):
    orders = delivery_history()  # every 2 days from 2017-09-01: 46 before 2017-12-01 (91 days), 14 on/after
    after = [o for o in orders if o.purchased_at >= datetime(2017, 12, 1, tzinfo=UTC)]
    export = tmp_path / "eta.csv"

    call_command("predict_delivery", "--as-of", "2017-12-01", "--export", str(export))

    rows = _read(export)
    assert (
        rows[0]
        == EXPORT_COLUMNS
        == ["order_id", "purchased_at", "eta_date", "promise_date", "late_risk", "model_version"]
    )
    assert [r[0] for r in rows[1:]] == [o.external_id for o in after]
    assert len(after) == 14
    first = rows[1]
    assert first[1] == after[0].purchased_at.isoformat()
    assert first[5] == "delivery v1"
    assert date.fromisoformat(first[3]) >= date.fromisoformat(first[2]) > after[0].purchased_at.date()
    assert all(0 <= float(r[4]) <= 1 for r in rows[1:])
    stored = DeliveryPrediction.objects.filter(as_of=AS_OF)
    assert stored.count() == 14
    assert {p.model_version.version for p in stored} == {1}


@pytest.mark.django_db
def test_predictions_ignore_facts_dated_on_or_after_as_of(tmp_path):
    orders = delivery_history()
    call_command("predict_delivery", "--as-of", "2017-12-01", "--export", str(tmp_path / "a.csv"))
    # An order bought before as-of and delivered after it: its delivery was unknown at as-of.
    late_known = [o for o in orders if o.purchased_at < datetime(2017, 12, 1, tzinfo=UTC) <= o.delivered_at]
    assert late_known, "the history must contain an order in flight at as-of"
    for order in late_known:
        order.delivered_at = order.delivered_at + timedelta(days=60)
        order.save(update_fields=["delivered_at"])
    # Orders bought after as-of get facts later too: also invisible.
    for order in orders[-5:]:
        order.handed_to_carrier_at = order.purchased_at + timedelta(days=9)
        order.save(update_fields=["handed_to_carrier_at"])

    call_command("predict_delivery", "--as-of", "2017-12-01", "--export", str(tmp_path / "b.csv"))

    first, second = _read(tmp_path / "a.csv"), _read(tmp_path / "b.csv")
    assert [r[:5] for r in first] == [r[:5] for r in second]
    assert {r[5] for r in second[1:]} == {"delivery v2"}


@pytest.mark.django_db
def test_predict_delivery_rejects_a_bad_date_and_too_little_history():
    with pytest.raises(CommandError, match="'2017-13-01' is not a date in the form YYYY-MM-DD"):
        call_command("predict_delivery", "--as-of", "2017-13-01")
    delivery_history(count=10)
    with pytest.raises(CommandError, match="need at least 30 to train"):
        call_command("predict_delivery", "--as-of", "2017-12-01")
    assert DeliveryPrediction.objects.count() == 0


@pytest.mark.django_db
def test_open_orders_are_rescored_with_the_active_model():
    from logistics.services import delivery_score_open_orders

    orders = delivery_history()
    call_command("predict_delivery", "--as-of", "2017-12-01")
    in_flight = orders[-1]
    in_flight.delivered_at = None
    in_flight.status = "shipped"
    in_flight.save(update_fields=["delivered_at", "status"])
    now = in_flight.purchased_at + timedelta(days=60)

    assert delivery_score_open_orders(now=now) == 1

    prediction = DeliveryPrediction.objects.get(order=in_flight, as_of=now.date())
    # 60 days in flight is far past any promise this history supports: certainly late
    assert prediction.late_risk == 1.0
    assert prediction.model_version.version == 1


@pytest.mark.django_db
def test_train_delivery_job_predicts_and_records_the_result(django_capture_on_commit_callbacks):
    from ecomops.jobs import job_start
    from ecomops.models import JobRun

    delivery_history()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="train:delivery", parameters={"as_of": "2017-12-01"}, requested_via="test")
    job.refresh_from_db()
    assert (job.state, job.error) == (JobRun.State.SUCCEEDED, "")
    assert job.result == {"version": 1, "status": "active", "predictions": 14}

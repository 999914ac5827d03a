"""REST API of logistics: lists (ordered, constant queries), predictions, likely late, route planning, risk."""

from datetime import UTC, date, datetime

from django.urls import reverse

from ecomops.models import JobRun, ModelVersion, RegisteredModel
from logistics.models import DeliveryPrediction, OrderRisk
from tests.factories import OrderFactory

from .factories import CarrierFactory, ShipmentFactory, ZipAreaFactory


def _version():
    registered = RegisteredModel.objects.create(name="delivery", primary_metric="eta_mae_days")
    return ModelVersion.objects.create(registered_model=registered, version=1)


def _prediction(version, *, external_id, risk, delivered=False):
    order = OrderFactory(
        external_id=external_id,
        purchased_at=datetime(2018, 3, 1, 9, tzinfo=UTC),
        delivered_at=datetime(2018, 3, 9, 9, tzinfo=UTC) if delivered else None,
    )
    return DeliveryPrediction.objects.create(
        order=order,
        model_version=version,
        as_of=date(2018, 3, 1),
        eta_date=date(2018, 3, 8),
        promise_date=date(2018, 3, 15),
        eta_days=7.0,
        promise_days=14.0,
        late_risk=risk,
    )


def test_anonymous_is_refused(client, db):
    response = client.get(reverse("carrier-list"))
    assert response.status_code in (401, 403)


def test_shipment_list_is_ordered_with_constant_queries(api_client, django_assert_max_num_queries):
    for _ in range(3):
        ShipmentFactory()
    url = reverse("shipment-list")
    with django_assert_max_num_queries(8) as few:
        first = api_client.get(url)
    for _ in range(10):
        ShipmentFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        second = api_client.get(url)
    assert first.status_code == second.status_code == 200
    assert second.json()["count"] == 13
    ids = [row["id"] for row in second.json()["results"]]
    assert ids == sorted(ids, reverse=True)


def test_zip_area_validation_names_the_field(api_client):
    response = api_client.post(
        reverse("ziparea-list"), {"prefix": "99999", "latitude": 95, "longitude": -46}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"latitude": ["latitude must be between -90 and 90"]}


def test_carrier_search(api_client):
    CarrierFactory(code="correios", name="Correios")
    CarrierFactory(code="jadlog", name="Jadlog")
    response = api_client.get(reverse("carrier-list"), {"search": "jad"})
    assert [row["code"] for row in response.json()["results"]] == ["jadlog"]


def test_predictions_list_and_likely_late(api_client):
    version = _version()
    _prediction(version, external_id="calm", risk=0.1)
    _prediction(version, external_id="worry", risk=0.8)
    _prediction(version, external_id="arrived", risk=0.9, delivered=True)

    listed = api_client.get(reverse("deliveryprediction-list")).json()["results"]
    late = api_client.get(reverse("deliveryprediction-likely-late")).json()["results"]

    assert [row["order_id"] for row in listed] == ["arrived", "worry", "calm"]
    assert listed[1] == {
        **listed[1],
        "eta_date": "2018-03-08",
        "promise_date": "2018-03-15",
        "late_risk": 0.8,
        "model_version": "delivery v1",
    }
    assert [row["order_id"] for row in late] == ["worry"]


def test_predict_queues_a_job(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post(
            reverse("deliveryprediction-predict"), {"as_of": "2018-03-01", "target_late_share": 0.05}, format="json"
        )
    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["job"])
    assert (job.kind, job.parameters, job.requested_via) == (
        "train:delivery",
        {"as_of": "2018-03-01", "target_late_share": 0.05},
        "api",
    )


def test_predict_rejects_a_bad_date(api_client):
    response = api_client.post(reverse("deliveryprediction-predict"), {"as_of": "2018-02-30"}, format="json")
    assert response.status_code == 400
    assert "as_of" in response.json()
    assert JobRun.objects.count() == 0


def test_plan_routes_unknown_location(api_client):
    response = api_client.post(
        reverse("routeplan-plan"),
        {"location": 999, "date": "2018-03-05", "vehicle_capacity": 10, "vehicles": 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"location": ["no location with id 999"]}


def test_order_risk_status_can_be_reviewed(api_client):
    risk = OrderRisk.objects.create(order=OrderFactory(), score=0.7, reasons=["value 900.00 is 9.0x"])
    response = api_client.patch(reverse("orderrisk-detail", args=[risk.pk]), {"status": "cleared"}, format="json")
    assert response.status_code == 200
    risk.refresh_from_db()
    assert (risk.status, risk.score) == ("cleared", 0.7)


def test_zip_areas_filter_by_state(api_client):
    ZipAreaFactory(prefix="01001", state="SP")
    ZipAreaFactory(prefix="20000", state="RJ")
    response = api_client.get(reverse("ziparea-list"), {"state": "RJ"})
    assert [row["prefix"] for row in response.json()["results"]] == ["20000"]


def test_plan_routes_refuses_a_shift_that_ends_before_it_starts(api_client):
    response = api_client.post(
        reverse("routeplan-plan"),
        {
            "location": 1,
            "date": "2018-03-05",
            "vehicle_capacity": 10,
            "vehicles": 1,
            "shift_start": "18:00",
            "shift_end": "08:00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"shift_end": ["the shift must end after it starts"]}


def test_shipment_time_window_is_validated_in_the_api(api_client):
    shipment = ShipmentFactory()
    url = reverse("shipment-detail", args=[shipment.pk])
    half = api_client.patch(url, {"window_start": "10:00"}, format="json")
    assert half.status_code == 400
    assert half.json() == {"window_end": ["give both ends of the delivery time window, or neither"]}
    ok = api_client.patch(url, {"window_start": "10:00", "window_end": "12:30"}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["window_start"], ok.json()["window_end"]) == ("10:00:00", "12:30:00")

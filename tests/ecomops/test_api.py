import pytest

from ecomops.models import JobRun, ModelVersion
from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

pytestmark = pytest.mark.django_db


def test_post_job_returns_202_and_get_follows_it_to_success(api_client, toy_kinds, run_on_commit):
    with run_on_commit():
        response = api_client.post(
            "/api/v1/jobs/", {"kind": "train:toy", "parameters": {"mae": 0.4, "as_of": "2018-06-01"}}, format="json"
        )
    assert response.status_code == 202
    job = JobRun.objects.get()
    assert response.data["id"] == job.pk
    assert response.data["url"] == f"http://testserver/api/v1/jobs/{job.pk}/"
    assert response["Location"] == response.data["url"]
    assert (response.data["state"], response.data["requested_via"]) == ("queued", "api")
    followed = api_client.get(f"/api/v1/jobs/{job.pk}/")
    assert followed.status_code == 200
    assert (followed.data["state"], followed.data["progress"], followed.data["result"]) == (
        "succeeded",
        100,
        {"version": 1, "promoted": True},
    )
    assert "[100%] v1 activated" in followed.data["log"]
    assert ModelVersion.objects.get().as_of.isoformat() == "2018-06-01"
    listed = api_client.get("/api/v1/jobs/?state=succeeded&kind=train:toy")
    assert [row["id"] for row in listed.data["results"]] == [job.pk]


def test_bad_job_requests_get_400_naming_the_field(api_client, toy_kinds):
    response = api_client.post("/api/v1/jobs/", {"kind": "train:nope"}, format="json")
    assert response.status_code == 400
    assert response.data["kind"][0].startswith("unknown job kind 'train:nope'; known: ")
    assert "train:toy" in response.data["kind"][0]
    response = api_client.post("/api/v1/jobs/", {"kind": "train:toy", "parameters": [1, 2]}, format="json")
    assert response.status_code == 400
    assert response.data["parameters"] == ["parameters must be a JSON object"]
    response = api_client.post("/api/v1/jobs/", {"kind": "train:toy", "parameters": {"as_of": "june"}}, format="json")
    assert response.data["parameters"] == ["parameters.as_of must be a date as YYYY-MM-DD, not 'june'"]
    assert JobRun.objects.count() == 0


def test_cancel_queued_job_then_409_when_finished(api_client, toy_kinds):
    job = JobRun.objects.create(kind="train:toy")
    response = api_client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert (response.status_code, response.data["state"]) == (200, "canceled")
    response = api_client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 409
    assert response.data["detail"] == f"job {job.pk} has already finished (canceled); nothing to cancel"


def test_jobs_need_permissions(client, django_user_model, toy_kinds):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/jobs/").status_code == 401
    user = django_user_model.objects.create_user(username="viewer", password="viewer-pass-123")
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/jobs/").status_code == 403
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_jobrun"))
    user = django_user_model.objects.get(pk=user.pk)
    api.force_authenticate(user)
    assert api.get("/api/v1/jobs/").status_code == 200
    assert api.post("/api/v1/jobs/", {"kind": "train:toy"}, format="json").status_code == 403
    job = JobRun.objects.create(kind="train:toy")
    assert api.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 403
    assert JobRun.objects.get(pk=job.pk).state == "queued"


def _versions():
    spec = ModelSpec(name="api-model", primary_metric="mae")
    first = model_version_register(spec=spec, trained=TrainedModel("mean", 1, {"mae": 0.5}))
    model_version_promote_if_better(version=first)
    second = model_version_register(spec=spec, trained=TrainedModel("mean", 2, {"mae": 0.9}))
    model_version_promote_if_better(version=second)
    return first, second


def test_models_list_active_version_and_versions_with_metrics(api_client, django_assert_max_num_queries):
    first, second = _versions()
    with django_assert_max_num_queries(6):
        response = api_client.get("/api/v1/models/")
    assert response.status_code == 200
    [model] = response.data["results"]
    assert (model["name"], model["primary_metric"], model["can_train"]) == ("api-model", "mae", False)
    assert model["active_version"]["version"] == 1
    assert [(v["version"], v["status"], v["metrics"]) for v in model["versions"]] == [
        (2, "candidate", {"mae": 0.9}),
        (1, "active", {"mae": 0.5}),
    ]
    response = api_client.get("/api/v1/model-versions/?model=api-model&status=candidate")
    assert [row["id"] for row in response.data["results"]] == [second.pk]


def test_activate_by_hand_records_user_and_note(api_client, operator_user):
    first, second = _versions()
    response = api_client.post(f"/api/v1/model-versions/{second.pk}/activate/", {}, format="json")
    assert response.status_code == 400
    assert response.data["note"] == ["This field is required."]
    response = api_client.post(f"/api/v1/model-versions/{second.pk}/activate/", {"note": "promo week"}, format="json")
    assert response.status_code == 200
    assert (response.data["status"], response.data["promoted_by"], response.data["promotion_note"]) == (
        "active",
        "operator",
        "promo week",
    )
    first.refresh_from_db()
    assert first.status == "archived"


def test_train_action_on_a_model_starts_its_job(api_client, toy_kinds, run_on_commit):
    spec = ModelSpec(name="toy", primary_metric="mae")
    model_version_register(spec=spec, trained=TrainedModel("mean", 1, {"mae": 2.0}))
    with run_on_commit():
        response = api_client.post("/api/v1/models/toy/train/", {"parameters": {"mae": 1.0}}, format="json")
    assert response.status_code == 202
    assert JobRun.objects.get(pk=response.data["id"]).state == "succeeded"
    _versions()
    response = api_client.post("/api/v1/models/api-model/score/", {}, format="json")
    assert response.status_code == 400
    assert response.data["detail"].startswith("no score job for model 'api-model'; models with one: ")

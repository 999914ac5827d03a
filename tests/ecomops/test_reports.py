import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

SPEC = ModelSpec(name="report-model", primary_metric="mae", higher_is_better=False)
EXPLANATION = {
    "method": "coefficient",
    "global": [{"feature": "price", "importance": -1.5}, {"feature": "weekday", "importance": 0.25}],
    "local": [
        {
            "label": "SKU-1 on 2018-05-01",
            "prediction": 12.0,
            "baseline": 10.0,
            "contributions": [{"feature": "price", "value": 9.9, "contribution": 1.5}],
        }
    ],
    "notes": "Linear model on price and weekday.",
}


def _version(mae: float, explanation=None):
    version = model_version_register(
        spec=SPEC,
        trained=TrainedModel(
            algorithm="linear",
            artifact={"w": 1},
            metrics={"mae": mae, "rmse": mae * 2},
            explanation=explanation or {},
            as_of=date(2018, 6, 1),
        ),
    )
    model_version_promote_if_better(version=version)
    return version


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_user_without_permission_gets_403(client, django_user_model):
    url = reverse("ecomops_reports:models")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    user = django_user_model.objects.create_user(username="nobody", password="x-pass-12345", is_staff=True)
    client.force_login(user)
    assert client.get(url).status_code == 403
    assert client.get(reverse("reports_index")).context["sections"] == {}


@pytest.mark.django_db
def test_registry_report_shows_models_charts_and_csv(client, operator_user):
    _version(0.9)
    _version(0.7, EXPLANATION)
    client.force_login(operator_user)
    response = client.get(reverse("ecomops_reports:models"))
    assert response.status_code == 200
    assert [c.title for c in response.context["charts"]] == ["report-model: mae by version"]
    assert response.content.count(b'<figure class="report-chart"') == 1
    assert b"<svg" in response.content.split(b'<figure class="report-chart"')[1]
    assert response.context["summary"] == {"models": 1, "versions": 2, "active": 1}
    models_table = response.context["tables"][0]
    assert models_table.data["active version"].tolist() == [2]
    assert models_table.data["metric"].tolist() == ["mae = 0.7"]

    csv_response = client.get(reverse("ecomops_reports:models") + "?format=csv")
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert [(r["model"], r["version"], r["status"], r["primary_value"]) for r in rows] == [
        ("report-model", "1", "archived", "0.9"),
        ("report-model", "2", "active", "0.7"),
    ]


@pytest.mark.django_db
def test_model_report_explains_active_version_globally_and_per_prediction(client, operator_user):
    _version(0.9)
    _version(0.7, EXPLANATION)
    client.force_login(operator_user)
    response = client.get(reverse("ecomops_reports:model", args=["report-model"]))
    assert response.status_code == 200
    titles = [c.title for c in response.context["charts"]]
    assert titles == [
        "mae by version",
        "rmse by version",
        "v2: what drives predictions (coefficient)",
        "One prediction: SKU-1 on 2018-05-01",
    ]
    explanation = response.context["tables"][1]
    assert explanation.data.to_dict("records") == [
        {"feature": "price", "importance": -1.5},
        {"feature": "weekday", "importance": 0.25},
    ]
    assert b"Linear model on price and weekday." in response.content
    # an older version without explanation says so
    response = client.get(reverse("ecomops_reports:model", args=["report-model"]) + "?version=1")
    assert b"v1 recorded no explanation." in response.content


@pytest.mark.django_db
def test_model_report_bad_input_is_400_or_404_not_500(client, operator_user):
    _version(0.9)
    client.force_login(operator_user)
    url = reverse("ecomops_reports:model", args=["report-model"])
    response = client.get(url + "?version=abc")
    assert response.status_code == 400
    assert b"version must be a whole number, not &#x27;abc&#x27;" in response.content
    assert client.get(url + "?version=7").status_code == 404
    assert client.get(reverse("ecomops_reports:model", args=["nope"])).status_code == 404
    assert client.get(reverse("ecomops_reports:jobs") + "?days=-3").status_code == 400


@pytest.mark.django_db
def test_job_health_report_counts_states(client, operator_user):
    from ecomops.models import JobRun

    JobRun.objects.create(kind="train:x", state="succeeded")
    JobRun.objects.create(kind="train:x", state="failed", error="boom")
    JobRun.objects.create(kind="score:x", state="queued")
    client.force_login(operator_user)
    response = client.get(reverse("ecomops_reports:jobs"))
    assert response.status_code == 200
    assert response.context["summary"] == {
        "jobs": 3,
        "succeeded": 1,
        "failed": 1,
        "running": 0,
        "queued": 1,
        "failure rate": "50.0%",
    }
    per_kind = response.context["tables"][0].data
    assert per_kind[["kind", "jobs", "failed"]].to_dict("records") == [
        {"kind": "score:x", "jobs": 1, "failed": 0},
        {"kind": "train:x", "jobs": 2, "failed": 1},
    ]
    assert per_kind["failure_rate"].isna().tolist() == [True, False]  # no finished score:x job yet
    assert per_kind["failure_rate"].iloc[1] == 0.5


@pytest.mark.django_db
def test_reports_index_lists_platform_reports_and_admin_links_it(client, operator_user):
    client.force_login(operator_user)
    response = client.get(reverse("reports_index"))
    platform = response.context["sections"]["Platform"]
    assert [(link.title, link.url) for link in platform] == [
        ("Job health", "/reports/platform/jobs/"),
        ("Model registry", "/reports/platform/models/"),
    ]
    admin_home = client.get(reverse("admin:index"))
    assert b'id="reports-link"' in admin_home.content
    assert reverse("reports_index").encode() in admin_home.content


@pytest.mark.django_db
def test_report_parameter_errors_name_the_parameter(client, operator_user):
    client.force_login(operator_user)
    url = reverse("ecomops_reports:jobs")
    response = client.get(url + "?days=abc")
    assert response.status_code == 400
    assert response.context["input_error"] == "days must be a whole number, not 'abc'"
    response = client.get(url + "?days=0")
    assert response.context["input_error"] == "days must be between 1 and 3650, not 0"
    assert client.get(url + "?days=7").context["title"] == "Job health (last 7 days)"


@pytest.mark.django_db
def test_feature_names_cannot_inject_html_into_the_page(client, operator_user):
    evil = "<script>alert(1)</script> -->"
    _version(0.5, {"global": [{"feature": evil, "importance": 1.0}]})
    client.force_login(operator_user)
    response = client.get(reverse("ecomops_reports:model", args=["report-model"]))
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content  # the table shows it as text

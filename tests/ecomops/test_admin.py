import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from ecomops.models import JobRun, ModelVersion, RegisteredModel
from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_op(client, operator_user):
    client.force_login(operator_user)
    return client


def test_job_list_shows_progress_bars_and_filters(admin_client_op):
    JobRun.objects.create(kind="train:a", state="running", progress=40, progress_message="fitting")
    JobRun.objects.create(kind="train:b", state="failed", progress=10)
    response = admin_client_op.get(reverse("admin:ecomops_jobrun_changelist") + "?state__exact=running")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'role="progressbar" aria-valuenow="40"' in content
    assert 'aria-valuenow="10"' not in content
    assert "window.location.reload" in content  # follows running jobs


def test_job_page_shows_log_and_traceback_read_only_and_reloads_until_finished(admin_client_op):
    job = JobRun.objects.create(kind="train:a", state="running", log="line one\n", traceback="Traceback: boom")
    url = reverse("admin:ecomops_jobrun_change", args=[job.pk])
    content = admin_client_op.get(url).content.decode()
    assert '<pre class="job-log"' in content and "line one" in content
    assert "Traceback: boom" in content
    assert '<meta http-equiv="refresh" content="2">' in content
    assert 'name="kind"' not in content  # read-only
    JobRun.objects.filter(pk=job.pk).update(state="succeeded")
    assert '<meta http-equiv="refresh"' not in admin_client_op.get(url).content.decode()


def test_cancel_action(admin_client_op):
    running = JobRun.objects.create(kind="train:a", state="running")
    done = JobRun.objects.create(kind="train:a", state="succeeded")
    response = admin_client_op.post(
        reverse("admin:ecomops_jobrun_changelist"),
        {"action": "cancel_jobs", ACTION_CHECKBOX_NAME: [running.pk, done.pk]},
        follow=True,
    )
    assert "Canceled 1 job(s); 1 had already finished." in [str(m) for m in response.context["messages"]]
    assert dict(JobRun.objects.values_list("pk", "state")) == {running.pk: "canceled", done.pk: "succeeded"}


def test_retrain_action_starts_the_job_and_opens_it(admin_client_op, toy_kinds, run_on_commit):
    model_version_register(spec=ModelSpec(name="toy", primary_metric="mae"), trained=TrainedModel("m", 1, {"mae": 3}))
    model = RegisteredModel.objects.get(name="toy")
    with run_on_commit():
        response = admin_client_op.post(
            reverse("admin:ecomops_registeredmodel_changelist"), {"action": "retrain", ACTION_CHECKBOX_NAME: [model.pk]}
        )
    job = JobRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:ecomops_jobrun_change", args=[job.pk])
    job.refresh_from_db()
    assert (job.kind, job.requested_via, job.requested_by.username, job.state) == (
        "train:toy",
        "admin",
        "operator",
        "succeeded",
    )
    assert model.versions.count() == 2


def test_rescore_action_reports_models_without_a_score_job(admin_client_op, toy_kinds):
    model_version_register(spec=ModelSpec(name="orphan", primary_metric="mae"), trained=TrainedModel("m", 1, {}))
    model = RegisteredModel.objects.get(name="orphan")
    response = admin_client_op.post(
        reverse("admin:ecomops_registeredmodel_changelist"),
        {"action": "rescore", ACTION_CHECKBOX_NAME: [model.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "No score job exists for: orphan; nothing started for them."
    ]
    assert JobRun.objects.count() == 0


def test_registered_model_page_lists_versions_inline(admin_client_op):
    spec = ModelSpec(name="inline-model", primary_metric="mae")
    model_version_register(spec=spec, trained=TrainedModel("mean", 1, {"mae": 0.25}))
    model = RegisteredModel.objects.get()
    content = admin_client_op.get(reverse("admin:ecomops_registeredmodel_change", args=[model.pk])).content.decode()
    assert "0.25" in content
    assert reverse("ecomops_reports:model", args=["inline-model"]) in content


def test_promote_action_asks_for_a_note_then_records_user_and_note(admin_client_op, operator_user):
    spec = ModelSpec(name="promo", primary_metric="mae")
    first = model_version_register(spec=spec, trained=TrainedModel("mean", 1, {"mae": 0.5}))
    model_version_promote_if_better(version=first)
    worse = model_version_register(spec=spec, trained=TrainedModel("mean", 2, {"mae": 0.8}))
    url = reverse("admin:ecomops_modelversion_changelist")
    response = admin_client_op.post(url, {"action": "promote", ACTION_CHECKBOX_NAME: [worse.pk]})
    assert response.status_code == 200
    assert b"Promote promo v2 to active" in response.content
    assert ModelVersion.objects.get(pk=worse.pk).status == "candidate"
    response = admin_client_op.post(
        url,
        {"action": "promote", ACTION_CHECKBOX_NAME: [worse.pk], "apply": "1", "note": "holiday season"},
        follow=True,
    )
    assert "promo v2 is now active." in [str(m) for m in response.context["messages"]]
    worse.refresh_from_db()
    first.refresh_from_db()
    assert (worse.status, worse.promoted_by, worse.promotion_note) == ("active", operator_user, "holiday season")
    assert first.status == "archived"


def test_version_page_shows_metrics_and_explanation(admin_client_op):
    spec = ModelSpec(name="explained", primary_metric="mae")
    version = model_version_register(
        spec=spec,
        trained=TrainedModel("lin", 1, {"mae": 0.5}, explanation={"global": [{"feature": "price", "importance": 2}]}),
    )
    content = admin_client_op.get(reverse("admin:ecomops_modelversion_change", args=[version.pk])).content.decode()
    assert "&quot;feature&quot;: &quot;price&quot;" in content
    assert "&quot;mae&quot;: 0.5" in content


def test_schedules_exist_and_are_editable_in_the_admin(admin_client_op):
    from django_celery_beat.models import PeriodicTask

    tasks = {t.task: (t.crontab.minute, t.crontab.hour) for t in PeriodicTask.objects.select_related("crontab")}
    assert tasks["ecomops.tasks.train_all_task"] == ("0", "2")
    assert tasks["ecomops.tasks.score_all_task"] == ("15", "*")
    assert tasks["ecomops.tasks.fail_stuck_jobs_task"] == ("*/5", "*")
    assert admin_client_op.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200


def test_start_any_job_kind_from_the_admin_with_as_of(admin_client_op, toy_kinds, run_on_commit):
    url = reverse("admin:ecomops_jobrun_start")
    page = admin_client_op.get(url)
    assert b"train:toy: Train the toy model" in page.content
    response = admin_client_op.post(url, {"kind": "train:toy", "as_of": "2018-13-40", "parameters": "{}"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"as_of": ["Enter a valid date."]}
    response = admin_client_op.post(url, {"kind": "train:toy", "as_of": "", "parameters": "[1]"})
    assert response.context["form"].errors == {"parameters": ["parameters must be a JSON object"]}
    assert JobRun.objects.count() == 0
    with run_on_commit():
        response = admin_client_op.post(url, {"kind": "train:toy", "as_of": "2018-02-01", "parameters": '{"mae": 0.1}'})
    job = JobRun.objects.get()
    assert response["Location"] == reverse("admin:ecomops_jobrun_change", args=[job.pk])
    assert (job.parameters, job.state, job.requested_via) == ({"mae": 0.1, "as_of": "2018-02-01"}, "succeeded", "admin")


def test_start_page_needs_the_add_permission(client, django_user_model):
    user = django_user_model.objects.create_user(username="staff", password="staff-pass-123", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:ecomops_jobrun_start")).status_code == 403


def test_cancel_button_on_the_job_page(admin_client_op):
    job = JobRun.objects.create(kind="train:a", state="running")
    page = admin_client_op.get(reverse("admin:ecomops_jobrun_change", args=[job.pk])).content.decode()
    assert 'id="cancel-job"' in page
    assert 'name="_save"' not in page  # jobs are read-only
    response = admin_client_op.post(reverse("admin:ecomops_jobrun_cancel", args=[job.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [f"Canceled job {job.pk}."]
    assert JobRun.objects.get(pk=job.pk).state == "canceled"
    assert 'id="cancel-job"' not in response.content.decode()
    response = admin_client_op.post(reverse("admin:ecomops_jobrun_cancel", args=[job.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [f"Job {job.pk} had already finished (canceled)."]


def _version(name: str, number: int, explanation: dict) -> ModelVersion:
    model, _ = RegisteredModel.objects.get_or_create(name=name)
    return ModelVersion.objects.create(registered_model=model, version=number, explanation=explanation)


def test_lists_showing_model_versions_neither_read_their_documents_nor_list_unused_versions(admin_client_op):
    """A version's explanation can be megabytes (every product's elasticity): the rows and the filter name their
    version without loading it; the review analyses' filter offers only the versions they were scored with."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.feedback.factories import ReviewAnalysisFactory

    used = _version("sentiment", 1, {"weights": list(range(1000))})
    _version("sentiment", 2, {"weights": []})  # never used by an analysis
    ReviewAnalysisFactory.create_batch(3, model_version=used)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client_op.get(reverse("admin:feedback_reviewanalysis_changelist"))

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert len(rows) == 3
    assert {"parameters", "metrics", "explanation", "library_versions"} <= rows[0].model_version.get_deferred_fields()
    (version_filter,) = [f for f in response.context["cl"].filter_specs if f.field_path == "model_version"]
    assert [label for _, label in version_filter.lookup_choices] == [str(used)]
    version_sql = [q["sql"] for q in queries.captured_queries if 'FROM "ecomops_modelversion"' in q["sql"]]
    assert version_sql and not any('"explanation"' in sql for sql in version_sql)


@pytest.mark.parametrize(
    "queryset",
    [
        "pricing.selectors.elasticity_list",
        "pricing.selectors.recommendation_list",
        "inventory.forecasting.forecast_list",
        "logistics.selectors.likely_late_predictions",
        "logistics.api.views.DeliveryPredictionViewSet.queryset",
    ],
)
def test_lists_of_rows_with_a_model_version_do_not_select_its_documents(queryset):
    """The API lists and reports that name each row's version read its name and number, not its JSON."""
    from importlib import import_module

    module, _, name = queryset.rpartition(".")
    try:
        target = getattr(import_module(module), name)
    except ModuleNotFoundError:  # a class attribute: module.Class.attribute
        module, _, owner = module.rpartition(".")
        target = getattr(getattr(import_module(module), owner), name)
    rows = target() if callable(target) else target.all()
    sql = str(rows.query)
    assert '"ecomops_modelversion"."version"' in sql
    assert not any(f'"ecomops_modelversion"."{field}"' in sql for field in ModelVersion.DOCUMENT_FIELDS)

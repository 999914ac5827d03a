"""Customer scoring fanned out in chunks (train:customers / score:customers): fit once, score each chunk with
an idempotent upsert, gather into one version promoted only when it beats the active one.

These run eagerly (no REDIS_URL: the chord runs in this process); ``test_customers_fanout_worker.py`` runs the
same job on real Celery worker processes over Redis on PostgreSQL."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import CustomerScore
from catalog.services_customers import (
    customer_clv_fit,
    customer_score_ranges,
    customer_scores_recompute,
    customer_scores_write,
)
from ecomops.jobs import job_start
from ecomops.models import JobRun, ModelVersion
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory

AS_OF = date(2018, 6, 30)
SCORE_FIELDS = (
    "customer_id",
    "as_of",
    "frequency",
    "recency_weeks",
    "age_weeks",
    "probability_alive",
    "expected_purchases_90d",
    "expected_average_spend",
    "clv_12m",
    "churn_risk",
    "model_version_id",
)


def make_history():
    """30 customers: every third buys again 2 and 5 weeks after the first purchase; one canceled order."""
    start = datetime(2018, 1, 1, 12, tzinfo=UTC)
    customers = []
    for n in range(30):
        customer = CustomerFactory(external_id=f"f{n:02d}")
        customers.append(customer)
        days = [n] + ([n + 14, n + 35] if n % 3 == 0 else [])
        for d in days:
            order = OrderFactory(customer=customer, purchased_at=start + timedelta(days=d))
            OrderLineFactory(order=order, line_number=1, unit_price=Decimal("20.00") + n)
    canceled = OrderFactory(customer=CustomerFactory(external_id="canceled"), purchased_at=start, status="canceled")
    OrderLineFactory(order=canceled, line_number=1)
    return customers


@pytest.fixture
def history(db):
    return make_history()


def _scores() -> list[tuple]:
    return list(CustomerScore.objects.order_by("customer_id").values_list(*SCORE_FIELDS))


def _run(kind: str, params: dict, capture) -> JobRun:
    with capture(execute=True):
        job = job_start(kind=kind, parameters=params, requested_via="test")
    job.refresh_from_db()
    return job


def test_score_ranges_split_buying_customers_by_id(history):
    ids = sorted(c.pk for c in history)
    assert customer_score_ranges(as_of=AS_OF, chunk_size=7) == [
        [ids[0], ids[6]],
        [ids[7], ids[13]],
        [ids[14], ids[20]],
        [ids[21], ids[27]],
        [ids[28], ids[29]],
    ]
    # before the 11th customer's first purchase only ten customers have bought
    assert customer_score_ranges(as_of=date(2018, 1, 10), chunk_size=100) == [[ids[0], ids[9]]]
    with pytest.raises(ValueError, match="chunk_size: must be at least 1, got 0"):
        customer_score_ranges(as_of=AS_OF, chunk_size=0)


def test_train_job_fits_once_scores_in_chunks_and_promotes_one_version(history, django_capture_on_commit_callbacks):
    job = _run("train:customers", {"as_of": "2018-06-30", "chunk_size": 7}, django_capture_on_commit_callbacks)

    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert (job.chunks_total, job.chunks_done, job.progress) == (5, 5, 100)
    version = ModelVersion.objects.get(registered_model__name="customers")  # one version for five chunks
    assert (version.version, version.status, version.trained_by_job_id) == (1, "active", job.pk)
    assert {k: job.result[k] for k in ("as_of", "segmented", "scored", "version", "promoted", "chunks")} == {
        "as_of": "2018-06-30",
        "segmented": 30,
        "scored": 30,
        "version": 1,
        "promoted": True,
        "chunks": 5,
    }
    assert job.result["metrics"] == version.metrics
    chunked = _scores()
    assert len(chunked) == 30 and {s[-1] for s in chunked} == {version.pk}
    bands = [s[9] for s in chunked]
    assert job.result["churn_risk"] == {band: bands.count(band) for band in sorted(set(bands))}
    assert bands.count("low") >= 20  # the 20 one-time buyers are alive by construction
    assert job.result["clv_12m_total"] == pytest.approx(float(sum(s[8] for s in chunked)), abs=0.011)

    # scoring everyone at once with the same version writes exactly the same rows
    CustomerScore.objects.all().delete()
    whole = customer_scores_write(as_of=AS_OF, version_id=version.pk)
    assert whole["customers"] == 30
    assert _scores() == chunked


def test_a_chunk_delivered_twice_writes_the_same_rows(history):
    fit = customer_clv_fit(as_of=AS_OF)
    first, second = customer_score_ranges(as_of=AS_OF, chunk_size=16)
    once = customer_scores_write(as_of=AS_OF, version_id=fit.scoring_version_id, first_id=first[0], last_id=first[1])
    rows = _scores()
    again = customer_scores_write(as_of=AS_OF, version_id=fit.scoring_version_id, first_id=first[0], last_id=first[1])

    assert once == again and once["customers"] == 16
    assert _scores() == rows and CustomerScore.objects.count() == 16
    customer_scores_write(as_of=AS_OF, version_id=fit.scoring_version_id, first_id=second[0], last_id=second[1])
    assert CustomerScore.objects.count() == 30


def test_a_candidate_that_does_not_beat_the_active_version_stays_candidate_and_does_not_score(
    history, django_capture_on_commit_callbacks
):
    customer_scores_recompute(as_of=AS_OF)
    incumbent = ModelVersion.objects.get(registered_model__name="customers")
    incumbent.metrics = {**incumbent.metrics, "holdout_mae": 0.0}  # unbeatable
    incumbent.save(update_fields=["metrics"])

    job = _run("train:customers", {"as_of": "2018-07-31", "chunk_size": 10}, django_capture_on_commit_callbacks)

    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert (job.result["version"], job.result["promoted"], job.result["scored"]) == (2, False, 30)
    statuses = dict(ModelVersion.objects.filter(registered_model__name="customers").values_list("version", "status"))
    assert statuses == {1: "active", 2: "candidate"}
    # customers are scored with the active version's parameters, as of the new date
    assert set(CustomerScore.objects.values_list("model_version_id", "as_of")) == {(incumbent.pk, date(2018, 7, 31))}


def test_a_failed_chunk_fails_the_job_and_promotes_nothing(history, django_capture_on_commit_callbacks, monkeypatch):
    from catalog import services_customers

    real = services_customers.customer_scores_write
    ids = sorted(c.pk for c in history)

    def flaky(**kwargs):
        if kwargs.get("first_id") == ids[10]:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(services_customers, "customer_scores_write", flaky)
    job = _run("train:customers", {"as_of": "2018-06-30", "chunk_size": 10}, django_capture_on_commit_callbacks)

    assert job.state == JobRun.State.FAILED
    assert job.error == "chunk 2/3 failed: RuntimeError: disk full"
    version = ModelVersion.objects.get(registered_model__name="customers")
    assert version.status == "candidate"  # registered by the train step, never activated


def test_score_job_rescores_with_the_active_version_in_chunks(history, django_capture_on_commit_callbacks):
    failed = _run("score:customers", {"as_of": "2018-06-30"}, django_capture_on_commit_callbacks)
    assert failed.state == JobRun.State.FAILED
    assert failed.error == "ValueError: no active customers model to score with: run train:customers first"

    customer_scores_recompute(as_of=AS_OF)
    newcomer = history[1]
    order = OrderFactory(customer=newcomer, purchased_at=datetime(2018, 7, 10, tzinfo=UTC))
    OrderLineFactory(order=order, line_number=1, unit_price=Decimal("50.00"))
    job = _run("score:customers", {"as_of": "2018-07-31", "chunk_size": 4}, django_capture_on_commit_callbacks)

    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert (job.chunks_total, job.result["scored"], job.result["version"]) == (8, 30, 1)
    assert "promoted" not in job.result
    assert ModelVersion.objects.filter(registered_model__name="customers").count() == 1
    score = CustomerScore.objects.get(customer=newcomer)
    assert (score.as_of, score.frequency) == (date(2018, 7, 31), 1)


def test_bad_chunk_size_is_a_clear_job_error(history, django_capture_on_commit_callbacks):
    job = _run("train:customers", {"as_of": "2018-06-30", "chunk_size": "many"}, django_capture_on_commit_callbacks)
    assert (job.state, job.error) == (JobRun.State.FAILED, "ValueError: chunk_size: not an integer: 'many'")
    assert not ModelVersion.objects.exists()

"""Campaign audiences: deterministic control groups, CSV export, effect measurement; CLV scoring service."""

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import AudienceMember, CampaignAudience, CustomerScore, CustomerSegmentSnapshot
from catalog.services_customers import (
    audience_create,
    audience_csv,
    audience_effect,
    control_split,
    customer_scores_recompute,
)
from ecomops.jobs import job_start
from ecomops.models import JobRun, ModelVersion
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory


def test_control_split_is_deterministic_and_sized():
    ids = list(range(100, 200))
    first = control_split(ids, fraction=0.1, seed=7)

    assert len(first) == 10
    assert first == control_split(list(reversed(ids)), fraction=0.1, seed=7)
    assert first != control_split(ids, fraction=0.1, seed=8)
    assert first <= set(ids)
    assert control_split(ids, fraction=0.0, seed=7) == set()


@pytest.fixture
def at_risk(db):
    customers = [CustomerFactory(external_id=f"c{n:02d}", email=f"c{n}@example.com") for n in range(20)]
    for customer in customers:
        CustomerSegmentSnapshot.objects.create(
            customer=customer,
            as_of=date(2018, 6, 30),
            recency_days=200,
            frequency=3,
            monetary=Decimal("30"),
            recency_score=1,
            frequency_score=3,
            monetary_score=3,
            segment="at_risk",
        )
    return customers


def test_audience_from_segment_keeps_seeded_control_group(at_risk):
    audience = audience_create(
        name="win-back",
        source="segment",
        criterion="at_risk",
        campaign_start=date(2018, 7, 1),
        control_fraction=0.25,
        seed=1,
    )

    assert audience.snapshot_date == date(2018, 6, 30)
    assert audience.members.count() == 20
    control = set(audience.members.filter(is_control=True).values_list("customer_id", flat=True))
    assert control == control_split([c.pk for c in at_risk], fraction=0.25, seed=1)
    rows = list(csv.reader(io.StringIO(audience_csv(audience=audience))))
    assert rows[0] == ["customer_id", "external_id", "name", "email", "group"]
    assert len(rows) == 1 + 15
    assert {int(r[0]) for r in rows[1:]}.isdisjoint(control)
    assert len(list(csv.reader(io.StringIO(audience_csv(audience=audience, include_control=True))))) == 21


def test_bad_audience_requests_name_the_field_and_create_nothing(at_risk):
    with pytest.raises(ValueError, match="^criterion: unknown segment 'vip'"):
        audience_create(name="x", source="segment", criterion="vip", campaign_start=date(2018, 7, 1))
    with pytest.raises(ValueError, match="^control_fraction: must be in"):
        audience_create(
            name="x", source="segment", criterion="at_risk", campaign_start=date(2018, 7, 1), control_fraction=1.5
        )
    with pytest.raises(ValueError, match="^criterion: no customer is in churn_risk 'high'"):
        audience_create(name="x", source="churn_risk", criterion="high", campaign_start=date(2018, 7, 1))
    assert CampaignAudience.objects.count() == 0
    assert AudienceMember.objects.count() == 0


def test_effect_of_campaign_against_control(at_risk):
    audience = audience_create(
        name="win-back",
        source="segment",
        criterion="at_risk",
        campaign_start=date(2018, 7, 1),
        control_fraction=0.25,
        seed=1,
    )
    treated = list(
        audience.members.filter(is_control=False).order_by("customer_id").values_list("customer_id", flat=True)
    )
    for customer_id in treated[:3]:
        order = OrderFactory(customer_id=customer_id, purchased_at=datetime(2018, 7, 5, tzinfo=UTC))
        OrderLineFactory(order=order, line_number=1, unit_price=Decimal("10.00"))
    before = OrderFactory(customer_id=treated[4], purchased_at=datetime(2018, 6, 20, tzinfo=UTC))  # before start
    OrderLineFactory(order=before, line_number=1, unit_price=Decimal("99.00"))

    effect = audience_effect(audience=audience, end=date(2018, 7, 31))

    assert (effect.treatment.customers, effect.treatment.buyers, effect.treatment.orders, effect.treatment.revenue) == (
        15,
        3,
        3,
        30.0,
    )
    assert (effect.control.customers, effect.control.buyers, effect.control.revenue) == (5, 0, 0.0)
    assert effect.conversion_lift == pytest.approx(0.2)
    se = math.sqrt(0.2 * 0.8 / 15)
    assert effect.conversion_ci == pytest.approx((0.2 - 1.959964 * se, 0.2 + 1.959964 * se))
    assert effect.revenue_lift_per_customer == pytest.approx(2.0)
    rev_se = math.sqrt((240 / 14) / 15)  # three customers spent 10, twelve spent 0: mean 2, sum of squares 240
    assert effect.revenue_ci == pytest.approx((2.0 - 1.959964 * rev_se, 2.0 + 1.959964 * rev_se))


def test_audience_api_create_export_effect(api_client, at_risk):
    response = api_client.post(
        "/api/v1/audiences/",
        {
            "name": "win-back",
            "source": "segment",
            "criterion": "at_risk",
            "campaign_start": "2018-07-01",
            "control_fraction": 0.25,
            "seed": 1,
        },
    )
    assert response.status_code == 201, response.content
    assert (response.json()["members"], response.json()["control_members"]) == (20, 5)
    pk = response.json()["id"]
    export = api_client.get(f"/api/v1/audiences/{pk}/export/")
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv"
    assert len(export.content.decode().strip().splitlines()) == 16
    effect = api_client.get(f"/api/v1/audiences/{pk}/effect/?end=2018-07-31")
    assert effect.json()["treatment"]["customers"] == 15
    bad = api_client.post(
        "/api/v1/audiences/", {"name": "again", "source": "segment", "criterion": "vip", "campaign_start": "2018-07-01"}
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["criterion"]
    assert CampaignAudience.objects.count() == 1


@pytest.fixture
def history(db):
    """30 customers: every third buys again 2 and 5 weeks after the first purchase."""
    start = datetime(2018, 1, 1, 12, tzinfo=UTC)
    customers = []
    for n in range(30):
        customer = CustomerFactory(external_id=f"h{n:02d}")
        customers.append(customer)
        days = [n] + ([n + 14, n + 35] if n % 3 == 0 else [])
        for d in days:
            order = OrderFactory(customer=customer, purchased_at=start + timedelta(days=d))
            OrderLineFactory(order=order, line_number=1, unit_price=Decimal("20.00") + n)
    return customers


def test_clv_scores_every_buyer_and_one_time_buyers_are_alive(history):
    result = customer_scores_recompute(as_of=date(2018, 6, 30))

    assert result.customers_scored == 30
    version = ModelVersion.objects.get(registered_model__name="customers")
    assert version.status == ModelVersion.Status.ACTIVE
    one_timers = CustomerScore.objects.filter(frequency=0)
    assert one_timers.count() == 20
    assert set(one_timers.values_list("probability_alive", "churn_risk")) == {(1.0, "low")}
    repeaters = CustomerScore.objects.filter(frequency=2)
    assert repeaters.count() == 10
    assert all(0 < s.probability_alive < 1 and s.clv_12m >= 0 and s.model_version_id == version.pk for s in repeaters)


def test_too_little_history_is_a_clear_error(db):
    order = OrderFactory(purchased_at=datetime(2018, 1, 1, tzinfo=UTC))
    OrderLineFactory(order=order, line_number=1)
    with pytest.raises(ValueError, match="needs at least 20 customers and 5 with repeat purchases; have 1 and 0"):
        customer_scores_recompute(as_of=date(2018, 6, 30))
    assert CustomerScore.objects.count() == 0


def test_train_customers_job_segments_and_scores(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="train:customers", parameters={"as_of": "2018-06-30"}, requested_via="test")
    job.refresh_from_db()

    assert job.state == JobRun.State.SUCCEEDED, job.error
    assert (job.result["segmented"], job.result["scored"]) == (30, 30)
    assert CustomerSegmentSnapshot.objects.filter(as_of=date(2018, 6, 30)).count() == 30


def test_rescore_uses_the_active_version_without_refitting(history):
    customer_scores_recompute(as_of=date(2018, 6, 30))
    newcomer = history[1]  # one purchase so far
    order = OrderFactory(customer=newcomer, purchased_at=datetime(2018, 7, 10, tzinfo=UTC))
    OrderLineFactory(order=order, line_number=1, unit_price=Decimal("50.00"))

    result = customer_scores_recompute(as_of=date(2018, 7, 31), refit=False)

    assert (result.version, result.promoted) == (1, False)
    assert ModelVersion.objects.filter(registered_model__name="customers").count() == 1
    score = CustomerScore.objects.get(customer=newcomer)
    assert (score.as_of, score.frequency) == (date(2018, 7, 31), 1)
    assert score.probability_alive < 1.0


def test_rescore_without_an_active_model_is_a_clear_error(history):
    with pytest.raises(ValueError, match="no active customers model to score with: run train:customers first"):
        customer_scores_recompute(as_of=date(2018, 6, 30), refit=False)

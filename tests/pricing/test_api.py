"""Pricing REST API: approve / reject permissions and effects, bulk competitor prices, constant query counts."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ecomops.models import JobRun, ModelVersion, RegisteredModel
from pricing import services
from pricing.models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    Promotion,
)
from tests.factories import ProductFactory

from .factories import PriceHistoryFactory, PriceRecommendationFactory, PricingRuleFactory

RECS = "/api/v1/pricing/recommendations/"


@pytest.fixture
def viewer_client(db, django_user_model):
    user = django_user_model.objects.create_user(username="viewer")
    user.user_permissions.set(
        Permission.objects.filter(codename__startswith="view_", content_type__app_label="pricing")
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_approve_applies_and_returns_the_recommendation(api_client, operator_user):
    rec = PriceRecommendationFactory()
    response = api_client.post(
        f"{RECS}{rec.pk}/approve/", {"reason": "go", "effective_from": "2030-07-01"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reason"], body["decided_by"]) == ("applied", "go", "operator")
    price = PriceHistory.objects.get()
    assert (price.price, price.effective_from) == (Decimal("9.0000"), date(2030, 7, 1))
    assert body["applied_price"] == price.pk


def test_second_approve_is_a_conflict_and_changes_nothing(api_client):
    rec = PriceRecommendationFactory()
    assert api_client.post(f"{RECS}{rec.pk}/approve/").status_code == 200
    response = api_client.post(f"{RECS}{rec.pk}/approve/")
    assert response.status_code == 409
    assert response.json() == {"detail": f"recommendation {rec.pk} is applied; only a proposed one can be approved"}
    assert PriceHistory.objects.count() == 1


def test_reject_requires_reason(api_client):
    rec = PriceRecommendationFactory()
    response = api_client.post(f"{RECS}{rec.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reason": ["a reason is required to reject a recommendation"]}
    response = api_client.post(f"{RECS}{rec.pk}/reject/", {"reason": "competitor war"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert list(PriceChangeAudit.objects.values_list("action", "reason")) == [("rejected", "competitor war")]


def test_viewer_cannot_approve_or_reject(viewer_client):
    rec = PriceRecommendationFactory()
    assert viewer_client.get(f"{RECS}{rec.pk}/").status_code == 200
    assert viewer_client.post(f"{RECS}{rec.pk}/approve/").status_code == 403
    assert viewer_client.post(f"{RECS}{rec.pk}/reject/", {"reason": "x"}, format="json").status_code == 403
    rec.refresh_from_db()
    assert rec.status == PriceRecommendation.Status.PROPOSED
    assert PriceHistory.objects.count() == 0


def test_anonymous_is_refused(db):
    rec = PriceRecommendationFactory()
    client = APIClient()
    assert client.get(RECS).status_code in (401, 403)
    assert client.post(f"{RECS}{rec.pk}/approve/").status_code in (401, 403)
    rec.refresh_from_db()
    assert rec.status == "proposed"


def test_unknown_recommendation_is_404(api_client):
    assert api_client.post(f"{RECS}999999/approve/").status_code == 404


def test_generate_queues_a_job(api_client):
    # the test transaction never commits, so the job is created but not run
    response = api_client.post(f"{RECS}generate/", {"as_of": "2024-03-04", "select": False}, format="json")
    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["job"])
    assert (job.kind, job.parameters) == ("score:price_response", {"as_of": "2024-03-04", "select": False})


@pytest.mark.parametrize(
    "url",
    [
        RECS,
        "/api/v1/pricing/prices/",
        "/api/v1/pricing/competitor-prices/",
        "/api/v1/pricing/elasticities/",
        "/api/v1/pricing/competitor-alerts/",
        "/api/v1/pricing/audit/",
        "/api/v1/pricing/promotions/",
        "/api/v1/pricing/rules/",
    ],
)
def test_list_query_count_does_not_grow_with_rows(api_client, operator_user, url):
    registered = RegisteredModel.objects.create(name="price_response", primary_metric="holdout_r2")
    version = ModelVersion.objects.create(registered_model=registered, version=1)

    def make(n):
        for _ in range(n):
            rec = PriceRecommendationFactory(model_version=version)
            PriceHistoryFactory(product=rec.product)
            ElasticityEstimate.objects.create(
                product=rec.product, location=rec.location, model_version=version, elasticity=-2, low=-3, high=-1
            )
            PricingRuleFactory(category=rec.product.category)
            Promotion.objects.create(
                product=rec.product,
                location=rec.location,
                kind="display",
                starts_on=date(2024, 1, 1),
                ends_on=date(2024, 1, 7),
            )
            services.competitor_price_record(
                product=rec.product, competitor="x", price=Decimal("5.00"), observed_at=timezone.now()
            )
            services.price_recommendation_reject(recommendation_id=rec.pk, user=operator_user, reason="r")

    make(1)
    api_client.get(url)  # warm the permission cache
    with CaptureQueriesContext(connection) as few:
        assert api_client.get(url).status_code == 200
    make(3)
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(url).status_code == 200
    assert len(many) == len(few)
    assert api_client.get(url).json()["count"] >= 4


def test_bulk_competitor_prices_reports_each_row_and_keeps_the_valid(api_client):
    product = ProductFactory(sku="OJ-1")
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    rows = [
        {"product": "OJ-1", "competitor": "rival", "price": "7.50", "observed_at": "2024-02-01T10:00:00Z"},
        {"product": "NOPE", "competitor": "rival", "price": "7.50", "observed_at": "2024-02-01T10:00:00Z"},
        {"product": "OJ-1", "competitor": "rival", "price": "-1", "observed_at": "2024-02-02T10:00:00Z"},
    ]
    response = api_client.post("/api/v1/pricing/competitor-prices/bulk/", rows, format="json")
    assert response.status_code == 207
    results = response.json()
    assert [r["status"] for r in results] == ["created", "rejected", "rejected"]
    assert results[1]["errors"] == {"product": ["unknown SKU 'NOPE'"]}
    assert results[2]["errors"] == {"price": ["must be positive"]}
    assert CompetitorPrice.objects.count() == 1
    alert = CompetitorPriceAlert.objects.get()
    assert (alert.direction, alert.gap) == ("above", Decimal("0.3333"))
    again = api_client.post("/api/v1/pricing/competitor-prices/bulk/", rows[:1], format="json")
    assert again.status_code == 200
    assert again.json()[0]["status"] == "updated"
    assert CompetitorPrice.objects.count() == 1


def test_price_created_through_api_is_audited(api_client):
    ProductFactory(sku="OJ-2")
    response = api_client.post(
        "/api/v1/pricing/prices/",
        {"product": "OJ-2", "price": "3.99", "effective_from": "2024-05-01", "note": "launch"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["source"] == "api"
    audit = PriceChangeAudit.objects.get()
    assert (audit.action, audit.to_price, audit.reason) == ("manual", Decimal("3.99"), "launch")


def test_price_with_unknown_sku_names_the_field(api_client):
    response = api_client.post(
        "/api/v1/pricing/prices/", {"product": "NOPE", "price": "3.99", "effective_from": "2024-05-01"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["product"]
    assert PriceHistory.objects.count() == 0


def test_duplicate_promotion_is_a_400_naming_the_field(api_client):
    ProductFactory(sku="OJ-3")
    body = {"product": "OJ-3", "kind": "display", "starts_on": "2024-05-01", "ends_on": "2024-05-07"}
    assert api_client.post("/api/v1/pricing/promotions/", body, format="json").status_code == 201
    response = api_client.post("/api/v1/pricing/promotions/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "starts_on": ["a promotion of this kind already starts that day for this product and location"]
    }
    backwards = {**body, "starts_on": "2024-06-07", "ends_on": "2024-06-01"}
    response = api_client.post("/api/v1/pricing/promotions/", backwards, format="json")
    assert response.json() == {"ends_on": ["must not be before starts_on"]}
    assert Promotion.objects.count() == 1

"""HTML reports of pricing: permissions, content, CSV download, bad query parameters."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from inventory.models import SalesObservation
from pricing import services

from .factories import PriceHistoryFactory, PriceRecommendationFactory


@pytest.fixture
def staff_client(client, operator_user):
    client.force_login(operator_user)
    return client


def test_reports_need_login_and_permission(client, django_user_model):
    assert client.get("/reports/pricing/recommendations/").status_code == 302
    user = django_user_model.objects.create_user(username="nobody", is_staff=True)
    client.force_login(user)
    assert client.get("/reports/pricing/recommendations/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_pricerecommendation"))
    assert client.get("/reports/pricing/recommendations/").status_code == 200


def test_recommendation_report_shows_demand_curve_and_downloads_csv(staff_client):
    rec = PriceRecommendationFactory(
        demand_curve=[
            {"price": 8.0, "units": 195.3, "revenue": 1562.5, "profit": 390.6},
            {"price": 10.0, "units": 100.0, "revenue": 1000.0, "profit": 400.0},
        ]
    )
    page = staff_client.get("/reports/pricing/recommendations/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Demand curve: {rec.product.sku} @ {rec.location.code}" in html
    assert "<svg" in html
    download = staff_client.get("/reports/pricing/recommendations/?format=csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == 1
    assert (rows[0]["sku"], rows[0]["current_price"], rows[0]["recommended_price"]) == (rec.product.sku, "10.0", "9.0")
    assert float(rows[0]["profit_change"]) == pytest.approx(11.52)


def test_bad_parameters_give_400_with_message(staff_client):
    response = staff_client.get("/reports/pricing/recommendations/?status=maybe")
    assert response.status_code == 400
    assert "status must be one of" in response.content.decode()
    assert staff_client.get("/reports/pricing/competitors/?on=yesterday").status_code == 400
    assert staff_client.get("/reports/pricing/elasticities/?level=planet").status_code == 400
    assert staff_client.get("/reports/pricing/recommendations/?id=99999").status_code == 400


def test_competitor_position_and_realised_reports(staff_client, operator_user):
    rec = PriceRecommendationFactory(effective_from=date(2024, 3, 4), expected_units=120.0)
    PriceHistoryFactory(product=rec.product, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    services.competitor_price_record(
        product=rec.product,
        competitor="rival",
        price=Decimal("8.00"),
        observed_at=timezone.make_aware(timezone.datetime(2024, 3, 1)),
    )
    services.price_recommendation_approve(recommendation_id=rec.pk, user=operator_user, effective_from=date(2024, 3, 4))
    for week, units in enumerate([100.0, 140.0]):
        SalesObservation.objects.create(
            product=rec.product, location=rec.location, period_start=date(2024, 3, 4 + 7 * week), units=units
        )
    position = staff_client.get("/reports/pricing/competitors/?on=2024-03-02&format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(position)))
    assert [(r["sku"], r["our_price"], r["cheapest_competitor"], r["gap"], r["open_alerts"]) for r in rows] == [
        (rec.product.sku, "10.0", "8.0", "0.25", "1")
    ]
    realised = list(
        csv.DictReader(io.StringIO(staff_client.get("/reports/pricing/realised/?format=csv").content.decode()))
    )
    assert len(realised) == 1
    assert (
        realised[0]["expected_units_new_price"],
        realised[0]["realised_units_after"],
        realised[0]["periods_after"],
    ) == (
        "120.0",
        "120.0",
        "2",
    )
    assert float(realised[0]["realised_vs_expected"]) == 0.0
    assert staff_client.get("/reports/pricing/realised/").status_code == 200
    assert staff_client.get("/reports/pricing/elasticities/").status_code == 200


def test_elasticity_report_lists_product_elasticities_with_intervals_and_cross_prices(staff_client):
    from ecomops.models import ModelVersion, RegisteredModel
    from pricing.models import ElasticityEstimate

    version = ModelVersion.objects.create(
        registered_model=RegisteredModel.objects.create(name="price_response", primary_metric="holdout_r2"), version=1
    )
    rec = PriceRecommendationFactory()
    ElasticityEstimate.objects.create(
        product=rec.product,
        model_version=version,
        elasticity=0.4,
        low=-0.2,
        high=1.0,
        flags=["positive_elasticity"],
        cross_elasticities={"SKU-B": 0.31, "SKU-A": 0.12},
    )
    rows = list(
        csv.DictReader(io.StringIO(staff_client.get("/reports/pricing/elasticities/?format=csv").content.decode()))
    )
    assert [(r["sku"], r["elasticity"], r["low"], r["high"], r["flags"], r["cross_prices"]) for r in rows] == [
        (rec.product.sku, "0.4", "-0.2", "1.0", "positive_elasticity", "SKU-A +0.12, SKU-B +0.31")
    ]
    assert "Elasticity with 95% interval" in staff_client.get("/reports/pricing/elasticities/").content.decode()

"""The customer page shows segment, CLV, churn and recommendations; the customers report and its CSV."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import CampaignAudience
from catalog.services_customers import customer_scores_recompute, recommendations_train_and_store, rfm_recompute
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory


@pytest.fixture
def analysed(db):
    start = datetime(2018, 1, 1, 12, tzinfo=UTC)
    products = [ProductFactory(sku=f"P{n}") for n in range(4)]
    customers = []
    for n in range(30):
        customer = CustomerFactory(external_id=f"h{n:02d}")
        customers.append(customer)
        days = [n] + ([n + 14, n + 35] if n % 3 == 0 else [])
        for i, d in enumerate(days):
            order = OrderFactory(customer=customer, purchased_at=start + timedelta(days=d))
            OrderLineFactory(order=order, line_number=1, product=products[(n + i) % 4], unit_price=Decimal("20.00"))
            OrderLineFactory(order=order, line_number=2, product=products[(n + i + 1) % 4], unit_price=Decimal("5.00"))
    rfm_recompute(as_of=date(2018, 3, 31))
    rfm_recompute(as_of=date(2018, 6, 30))
    customer_scores_recompute(as_of=date(2018, 6, 30))
    recommendations_train_and_store(as_of=date(2018, 6, 30), l2=1.0)
    return customers


def test_customer_page_shows_segment_clv_churn_and_recommendations(client, operator_user, analysed):
    client.force_login(operator_user)
    customer = analysed[1]

    page = client.get(f"/admin/catalog/customer/{customer.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    snapshot = customer.segment_snapshots.get(as_of=date(2018, 6, 30))
    assert f"{snapshot.get_segment_display()} (RFM {snapshot.rfm_code}, as of 2018-06-30)" in html
    assert f"{customer.score.clv_12m} (as of 2018-06-30)" in html
    assert f"{customer.score.probability_alive:.3f}" in html
    assert "Recommendations" in html and "personalised" in html
    assert "segment history" in html.lower()
    listing = client.get("/admin/catalog/customer/")
    assert listing.status_code == 200
    assert "CLV 12 m" in listing.content.decode()


def test_customers_report_html_csv_and_bad_date(client, operator_user, analysed):
    client.force_login(operator_user)

    page = client.get("/reports/catalog/customers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customers per segment" in html
    assert "Movement 2018-03-31" in html
    csv_response = client.get("/reports/catalog/customers/?format=csv")
    lines = csv_response.content.decode().strip().splitlines()
    assert lines[0] == "segment,segment_label,customers,share,monetary,mean_spend,mean_clv_12m"
    assert sum(int(line.split(",")[2]) for line in lines[1:]) == 30
    bad = client.get("/reports/catalog/customers/?as_of=yesterday")
    assert bad.status_code == 400
    assert "as_of: not a date (YYYY-MM-DD): &#x27;yesterday&#x27;" in bad.content.decode()


def test_audience_admin_add_uses_the_service(client, operator_user, analysed):
    client.force_login(operator_user)
    response = client.post(
        "/admin/catalog/campaignaudience/add/",
        {
            "name": "keep",
            "source": "churn_risk",
            "criterion": "low",
            "campaign_start": "2018-07-01",
            "control_fraction": "0.5",
            "seed": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    audience = CampaignAudience.objects.get(name="keep")
    assert audience.members.filter(is_control=True).count() == round(audience.members.count() * 0.5)
    export = client.post(
        "/admin/catalog/campaignaudience/", {"action": "export_csv", "_selected_action": [audience.pk]}
    )
    assert export["Content-Type"] == "text/csv"
    change = client.get(f"/admin/catalog/campaignaudience/{audience.pk}/change/")
    members = audience.members.count()
    control = audience.members.filter(is_control=True).count()
    assert f"{members - control} treatment, {control} control" in change.content.decode()
    assert "conversion lift +0.0000" in change.content.decode()  # no order after 2018-07-01 in either group

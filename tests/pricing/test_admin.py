"""Admin of pricing: bulk approve / reject actions, CSV import of prices (audited), pages render."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pricing.models import PriceChangeAudit, PriceHistory, PriceRecommendation
from tests.factories import LocationFactory, ProductFactory

from .factories import PriceRecommendationFactory


@pytest.fixture
def admin_client_(client, operator_user):
    client.force_login(operator_user)
    return client


def test_bulk_approve_applies_each_once_and_reports_refusals(admin_client_):
    open_one, open_two = PriceRecommendationFactory(), PriceRecommendationFactory()
    done = PriceRecommendationFactory(status=PriceRecommendation.Status.REJECTED)
    response = admin_client_.post(
        "/admin/pricing/pricerecommendation/",
        {"action": "approve", "_selected_action": [open_one.pk, open_two.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "approved 2 recommendation(s)",
        f"recommendation {done.pk} is rejected; only a proposed one can be approved",
    ]
    assert PriceHistory.objects.count() == 2
    assert set(PriceRecommendation.objects.values_list("status", flat=True)) == {"applied", "rejected"}


def test_bulk_reject(admin_client_):
    rec = PriceRecommendationFactory()
    admin_client_.post("/admin/pricing/pricerecommendation/", {"action": "reject", "_selected_action": [rec.pk]})
    rec.refresh_from_db()
    assert (rec.status, rec.reason) == ("rejected", "rejected in the admin")
    assert PriceHistory.objects.count() == 0


def test_csv_import_of_prices_is_audited(admin_client_):
    ProductFactory(sku="OJ-9")
    LocationFactory(code="DOM-2")
    body = "sku,location,price,effective_from,effective_to,source,note\nOJ-9,DOM-2,2.49,2024-04-01,,import,spring\n"
    upload = SimpleUploadedFile("prices.csv", body.encode(), content_type="text/csv")
    confirm = admin_client_.post(
        "/admin/pricing/pricehistory/import/", {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert confirm.status_code == 200
    form = confirm.context["confirm_form"]
    assert form is not None, confirm.content.decode()[:2000]
    done = admin_client_.post("/admin/pricing/pricehistory/process_import/", dict(form.initial), follow=True)
    assert done.status_code == 200
    row = PriceHistory.objects.get()
    assert (row.product.sku, row.location.code, row.price, row.effective_from) == (
        "OJ-9",
        "DOM-2",
        Decimal("2.4900"),
        date(2024, 4, 1),
    )
    audit = PriceChangeAudit.objects.get()
    assert (audit.action, audit.to_price, audit.reason, audit.price_history) == (
        "import",
        Decimal("2.4900"),
        "CSV import",
        row,
    )


@pytest.mark.parametrize(
    "model",
    [
        "pricehistory",
        "promotion",
        "competitorprice",
        "pricingrule",
        "elasticityestimate",
        "pricerecommendation",
        "competitorpricealert",
        "pricechangeaudit",
    ],
)
def test_changelists_render(admin_client_, model):
    PriceRecommendationFactory()
    assert admin_client_.get(f"/admin/pricing/{model}/?q=SKU").status_code == 200


def test_csv_import_of_competitor_prices_opens_alerts(admin_client_):
    from pricing.models import CompetitorPrice, CompetitorPriceAlert

    from .factories import PriceHistoryFactory

    product = ProductFactory(sku="OJ-7")
    PriceHistoryFactory(product=product, price=Decimal("10.00"), effective_from=date(2024, 1, 1))
    body = (
        "sku,competitor,price,observed_at,url,source\n"
        "OJ-7,rival,8.00,2024-02-01 10:00:00,,csv\n"
        "OJ-7,other,9.80,2024-02-01 10:00:00,,csv\n"
    )
    upload = SimpleUploadedFile("competitors.csv", body.encode(), content_type="text/csv")
    confirm = admin_client_.post(
        "/admin/pricing/competitorprice/import/", {"import_file": upload, "format": "0", "resource": "0"}
    )
    form = confirm.context["confirm_form"]
    assert form is not None, confirm.content.decode()[:2000]
    admin_client_.post("/admin/pricing/competitorprice/process_import/", dict(form.initial), follow=True)
    assert CompetitorPrice.objects.count() == 2
    alert = CompetitorPriceAlert.objects.get()
    assert (alert.competitor_price.competitor, alert.direction, alert.gap) == ("rival", "above", Decimal("0.2500"))

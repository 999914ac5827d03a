"""Catalog admin: product CSV import/export by SKU; customer personal data masked in the admin."""

from decimal import Decimal

import pytest
import tablib

from catalog.admin import ProductResource
from catalog.models import Category, Product
from tests.factories import CustomerFactory, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

CSV = """sku,name,category,seller,weight_g,length_cm,height_cm,width_cm,unit_cost,list_price,status
A,Ball,brinquedos,S1,300,10,10,10,2.00,5.00,active
B,Mug,,,,,,,,7.50,draft
"""


def import_csv(text, dry_run=False):
    return ProductResource().import_data(tablib.Dataset().load(text, format="csv"), dry_run=dry_run)


def test_product_csv_creates_then_updates_by_sku_and_a_reimport_changes_nothing():
    SellerFactory(external_id="S1")
    result = import_csv(CSV)
    assert not result.has_errors() and not result.has_validation_errors()
    assert (result.totals["new"], result.totals["update"]) == (2, 0)
    ball = Product.objects.get(sku="A")
    assert (ball.category.name, ball.seller.external_id, ball.list_price) == ("brinquedos", "S1", Decimal("5.00"))

    again = import_csv(CSV)
    assert (again.totals["new"], again.totals["update"], again.totals["skip"]) == (0, 0, 2)

    changed = import_csv(CSV.replace("7.50,draft", "8.00,active"))
    assert (changed.totals["new"], changed.totals["update"], changed.totals["skip"]) == (0, 1, 1)
    assert Product.objects.get(sku="B").list_price == Decimal("8.00")
    assert Product.objects.count() == 2
    assert Category.objects.count() == 1


def test_bad_product_rows_are_reported_with_their_row_and_field_and_the_valid_ones_applied():
    result = import_csv(CSV.replace("2.00,5.00,active", "2.00,-5.00,active").replace("S1", "NOBODY"))
    assert result.has_validation_errors()
    assert list(Product.objects.values_list("sku", flat=True)) == ["B"]
    invalid = {
        row.number: {field: [str(m) for m in messages] for field, messages in row.error_dict.items()}
        for row in result.invalid_rows
    }
    assert invalid == {
        1: {
            "seller": ["unknown seller 'NOBODY'"],
            "__all__": ["Constraint “product_price_gte_0” is violated."],
        }
    }


def test_product_export_has_the_import_columns(client, operator_user):
    ProductFactory(sku="A", name="Ball")
    dataset = ProductResource().export()
    assert dataset.headers == [
        "sku",
        "name",
        "category",
        "seller",
        "weight_g",
        "length_cm",
        "height_cm",
        "width_cm",
        "unit_cost",
        "list_price",
        "status",
    ]
    assert dataset.dict[0]["sku"] == "A"


def test_customer_admin_masks_personal_data_without_the_permission(client, operator_user):
    from django.contrib.auth.models import Permission

    CustomerFactory(external_id="c1", name="Maria Souza", email="maria.souza@example.com")
    operator_user.user_permissions.remove(Permission.objects.get(codename="view_personal_data"))
    client.force_login(operator_user)
    page = client.get("/admin/catalog/customer/").content.decode()
    assert "M. S." in page and "m***@example.com" in page
    assert "Maria Souza" not in page and "maria.souza@example.com" not in page


def test_product_import_page_opens(client, operator_user):
    client.force_login(operator_user)
    assert client.get("/admin/catalog/product/import/").status_code == 200
    assert client.get("/admin/catalog/product/export/").status_code == 200

"""The bulk upsert: counts only real changes, and a row the database refuses costs only that row."""

from decimal import Decimal

import pytest

from catalog.models import Product
from ingest.report import TableCount
from ingest.upsert import Incoming, upsert

pytestmark = pytest.mark.django_db


def product(line, sku, cost):
    return Incoming(line, {"sku": sku, "name": f"product {sku}", "unit_cost": Decimal(cost)})


def test_a_row_the_database_refuses_is_rejected_alone_with_its_reason():
    rejected = []
    count = TableCount()
    rows = [product(2, "A", "1.00"), product(3, "B", "-5.00"), product(4, "C", "2.50")]

    upsert(
        model=Product,
        rows=rows,
        key=["sku"],
        fields=["name", "unit_cost"],
        count=count,
        on_error=lambda row, reason: rejected.append((row.line, reason.split(":")[0])),
    )

    assert (count.created, count.updated, count.unchanged) == (2, 0, 0)
    assert rejected == [(3, "rejected by the database")]
    assert dict(Product.objects.values_list("sku", "unit_cost")) == {"A": Decimal("1.00"), "C": Decimal("2.50")}


def test_only_real_changes_count_as_updates():
    count = TableCount()
    upsert(model=Product, rows=[product(2, "A", "1.00"), product(3, "B", "2.00")], key=["sku"],
           fields=["name", "unit_cost"], count=count, on_error=lambda row, reason: None)  # fmt: skip
    stamp = Product.objects.get(sku="B").updated_at

    again = TableCount()
    upsert(model=Product, rows=[product(2, "A", "1.50"), product(3, "B", "2.00")], key=["sku"],
           fields=["name", "unit_cost"], count=again, on_error=lambda row, reason: None)  # fmt: skip

    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert Product.objects.get(sku="A").unit_cost == Decimal("1.50")
    assert Product.objects.get(sku="B").updated_at == stamp

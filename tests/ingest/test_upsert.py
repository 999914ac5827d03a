"""The bulk upsert: counts only real changes, and a row the database refuses costs only that row."""

from decimal import Decimal

import pytest

from catalog.models import Product
from ingest.report import TableCount
from ingest.upsert import Incoming, upsert
from inventory.models import Location

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


@pytest.mark.parametrize("conflict_upsert", [True, False], ids=["on-conflict", "bulk-update"])
@pytest.mark.parametrize("refused", [False, True], ids=["batch", "row-by-row-retry"])
def test_a_kept_field_is_left_empty_on_a_new_row_and_keeps_the_stored_value_of_an_existing_one(
    conflict_upsert, refused
):
    upsert(model=Product, rows=[product(2, "A", "1.00"), product(3, "B", "2.00")], key=["sku"],
           fields=["name", "unit_cost"], count=TableCount(), on_error=lambda row, reason: None)  # fmt: skip
    stamp = Product.objects.get(sku="B").updated_at
    kept = frozenset({"unit_cost"})
    rows = [
        Incoming(2, {"sku": "A", "name": "renamed A", "unit_cost": None}, kept),  # changed, cost not given
        Incoming(3, {"sku": "B", "name": "product B", "unit_cost": None}, kept),  # same but for the cost
        Incoming(4, {"sku": "C", "name": "product C", "unit_cost": None}, kept),  # new
    ]
    if refused:  # a row the database refuses sends the whole batch to the row-by-row retry
        rows.append(product(5, "D", "-5.00"))
    count, rejected = TableCount(), []

    upsert(model=Product, rows=rows, key=["sku"], fields=["name", "unit_cost"], count=count,
           conflict_upsert=conflict_upsert, on_error=lambda row, reason: rejected.append(row.line))  # fmt: skip

    assert (count.created, count.updated, count.unchanged, rejected) == (1, 1, 1, [5] if refused else [])
    assert {p.sku: (p.name, p.unit_cost) for p in Product.objects.all()} == {
        "A": ("renamed A", Decimal("1.00")),
        "B": ("product B", Decimal("2.00")),
        "C": ("product C", None),
    }
    assert Product.objects.get(sku="B").updated_at == stamp
    assert rows[0].values["unit_cost"] == Decimal("1.00")  # what is stored, for rows built from it afterwards
    assert rows[2].values["unit_cost"] is None


def test_a_kept_key_of_a_json_field_keeps_its_stored_value_and_the_other_keys_update():
    upsert(model=Location, rows=[Incoming(2, {"code": "L1", "name": "one", "attributes": {"a": 1, "b": 2}})],
           key=["code"], fields=["attributes"], count=TableCount(), on_error=lambda row, reason: None)  # fmt: skip
    count = TableCount()

    upsert(model=Location, rows=[Incoming(2, {"code": "L1", "name": "one", "attributes": {"b": 3}},
                                          frozenset({"attributes.a", "attributes.c"}))],
           key=["code"], fields=["attributes"], count=count, on_error=lambda row, reason: None)  # fmt: skip

    assert (count.created, count.updated) == (0, 1)
    assert Location.objects.get(code="L1").attributes == {"a": 1, "b": 3}

"""``recommend_prices``: exact export columns, only data before --as-of, clear errors."""

import csv
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import ModelVersion
from pricing.management.commands.recommend_prices import EXPORT_COLUMNS
from pricing.models import PriceRecommendation

from .factories import load_simulated_market


@pytest.mark.django_db
def test_export_has_exactly_the_contract_columns(tmp_path):
    load_simulated_market(n_products=3, n_locations=2, n_weeks=40)
    target = tmp_path / "recs.csv"
    call_command("recommend_prices", "--as-of", "2023-09-01", "--export", str(target), "--no-select")
    with target.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "sku",
        "location",
        "current_price",
        "recommended_price",
        "elasticity",
        "elasticity_low",
        "elasticity_high",
        "expected_units",
        "expected_profit",
        "binding_rule",
        "model_version",
    ]
    assert rows[0] == EXPORT_COLUMNS
    assert len(rows) == 1 + 6
    assert sorted((r[0], r[1]) for r in rows[1:]) == [
        (f"SIM-00{p}", f"LOC-{loc}") for p in range(3) for loc in range(2)
    ]
    assert {r[10] for r in rows[1:]} == {"price_response:v1"}
    for row in rows[1:]:
        assert float(row[5]) < float(row[4]) < float(row[6])
        assert float(row[3]) > 0
    version = ModelVersion.objects.get()
    assert version.as_of == date(2023, 9, 1)
    assert version.data_end.date() < date(2023, 9, 1)
    assert PriceRecommendation.objects.filter(status="proposed").count() == 6


@pytest.mark.django_db
def test_reuses_the_model_trained_as_of_the_same_day():
    load_simulated_market(n_products=3, n_locations=2, n_weeks=30)
    call_command("recommend_prices", "--as-of", "2023-06-01", "--no-select")
    call_command("recommend_prices", "--as-of", "2023-06-01", "--no-select")
    assert ModelVersion.objects.count() == 1
    assert PriceRecommendation.objects.filter(status="proposed").count() == 6


@pytest.mark.django_db
def test_bad_date_and_missing_history_are_clear_errors():
    with pytest.raises(CommandError, match="not a date"):
        call_command("recommend_prices", "--as-of", "2024-13-01")
    with pytest.raises(CommandError, match="not enough sales history"):
        call_command("recommend_prices", "--as-of", "2024-01-01", "--no-select")
    assert PriceRecommendation.objects.count() == 0

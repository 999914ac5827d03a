"""ecomops.bulk.bulk_insert: plain rows in, defaults and auto_now filled, Django's errors out."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from ecomops.bulk import bulk_insert
from ecomops.models import ModelVersion
from inventory.models import DemandForecast, Location
from tests.factories import ProductFactory


@pytest.fixture
def version(db):
    from ecomops.registry import ModelSpec, TrainedModel, model_version_register

    spec = ModelSpec(name="bulk-test", primary_metric="mase", higher_is_better=False, description="test")
    return model_version_register(spec=spec, trained=TrainedModel(algorithm="t", artifact={}, metrics={"mase": 1.0}))


def _row(version: ModelVersion, product, location, day: int, **extra):
    return {
        "product_id": product.pk,
        "location_id": location.pk,
        "model_version_id": version.pk,
        "as_of": date(2018, 4, 1),
        "period_start": date(2018, 4, day),
        "horizon_step": day,
        "p10": 1.0,
        "p50": 2.0,
        "p90": 3.5,
        **extra,
    }


def test_rows_are_written_with_defaults_and_creation_time(version):
    product, location = ProductFactory(), Location.objects.create(code="WH-BULK")

    written = bulk_insert(DemandForecast, (_row(version, product, location, d) for d in (1, 2, 3)), batch_size=2)

    assert written == 3
    rows = list(DemandForecast.objects.order_by("period_start").values("period_start", "period_days", "method", "p90"))
    assert rows == [{"period_start": date(2018, 4, d), "period_days": 1, "method": "", "p90": 3.5} for d in (1, 2, 3)]
    assert DemandForecast.objects.filter(created_at__isnull=True).count() == 0


def test_a_constraint_violation_is_djangos_integrity_error_and_the_transaction_keeps_nothing(version):
    product, location = ProductFactory(), Location.objects.create(code="WH-BULK")

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(DemandForecast, [_row(version, product, location, 1), _row(version, product, location, 1)])

    assert DemandForecast.objects.count() == 0


def test_a_row_with_a_primary_key_is_refused(version):
    product, location = ProductFactory(), Location.objects.create(code="WH-BULK")
    with pytest.raises(ValueError, match="no primary key"):
        bulk_insert(DemandForecast, [_row(version, product, location, 1, id=5)])

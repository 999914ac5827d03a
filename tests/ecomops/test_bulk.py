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


def test_bulk_update_rows_writes_what_bulk_update_writes(version):
    """Same values as the ORM's bulk_update (JSON, choices, foreign keys, floats), auto_now taken as given."""
    from datetime import UTC, datetime

    from ecomops.bulk import bulk_update_rows
    from feedback.models import ReviewAnalysis
    from tests.feedback.factories import ReviewFactory

    when = datetime(2018, 4, 1, 12, tzinfo=UTC)
    base = {"language": "pt", "sentiment": "neutral", "probability": 0.5, "analyzed_at": when}
    first = [ReviewAnalysis.objects.create(review=ReviewFactory(), **base) for _ in range(3)]
    second = [ReviewAnalysis.objects.create(review=ReviewFactory(), **base) for _ in range(3)]
    changes = [
        {
            "sentiment": "negative",
            "probability": 0.25 * i,
            "distribution": {"negative": 0.75, "neutral": 0.0, "positive": 0.25},
            "topics": ["not_delivered", "é"],
            "topic_evidence": {} if i else {"x": "keyword: não"},
            "model_version_id": version.pk if i != 1 else None,
            "analyzed_at": datetime(2018, 5, i + 1, tzinfo=UTC),
        }
        for i in range(3)
    ]
    for analysis, change in zip(first, changes, strict=True):
        for name, value in change.items():
            setattr(analysis, name, value)
    ReviewAnalysis.objects.bulk_update(first, list(changes[0]))

    written = bulk_update_rows(
        ReviewAnalysis,
        ({"pk": a.pk, **c} for a, c in zip(second, changes, strict=True)),
        list(changes[0]),
        batch_size=2,
    )

    assert written == 3
    compared = [*changes[0], "language", "suspicious_score", "suspicious_reasons", "created_at", "updated_at"]
    got = {a.pk: a for a in ReviewAnalysis.objects.all()}
    for a, b in zip(first, second, strict=True):
        left = {n: getattr(got[a.pk], n) for n in compared if n not in ("created_at", "updated_at")}
        right = {n: getattr(got[b.pk], n) for n in compared if n not in ("created_at", "updated_at")}
        assert left == right
        assert got[b.pk].updated_at == b.updated_at  # not named: left alone


def test_bulk_update_rows_refuses_the_primary_key(version):
    from ecomops.bulk import bulk_update_rows

    with pytest.raises(ValueError, match="non-primary-key"):
        bulk_update_rows(ModelVersion, [{"pk": version.pk, "id": 3}], ["id"])

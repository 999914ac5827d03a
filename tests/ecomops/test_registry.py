from datetime import date

import pytest

from ecomops.models import ModelVersion
from ecomops.registry import (
    ArtifactIntegrityError,
    ModelSpec,
    TrainedModel,
    model_version_activate,
    model_version_load,
    model_version_promote_if_better,
    model_version_register,
)

SPEC = ModelSpec(name="unit-test-model", primary_metric="mase", higher_is_better=False)


def _register(mase: float) -> ModelVersion:
    return model_version_register(
        spec=SPEC,
        trained=TrainedModel(algorithm="mean", artifact={"mean": mase}, metrics={"mase": mase}, as_of=date(2018, 1, 1)),
    )


@pytest.mark.django_db
def test_first_version_is_activated_and_a_worse_one_stays_candidate():
    first = _register(0.9)
    assert model_version_promote_if_better(version=first) is True
    worse = _register(1.1)
    assert model_version_promote_if_better(version=worse) is False
    worse.refresh_from_db()
    first.refresh_from_db()
    assert (first.version, first.status) == (1, "active")
    assert (worse.version, worse.status) == (2, "candidate")


@pytest.mark.django_db
def test_better_version_replaces_active_and_archives_it():
    first = _register(0.9)
    model_version_promote_if_better(version=first)
    better = _register(0.7)
    assert model_version_promote_if_better(version=better) is True
    first.refresh_from_db()
    better.refresh_from_db()
    assert first.status == "archived"
    assert better.status == "active"
    assert "0.7" in better.promotion_note


@pytest.mark.django_db
def test_manual_promotion_is_recorded(operator_user):
    first = _register(0.9)
    model_version_promote_if_better(version=first)
    worse = _register(1.5)
    model_version_activate(version=worse, user=operator_user, note="seasonal event")
    worse.refresh_from_db()
    assert (worse.status, worse.promoted_by, worse.promotion_note) == ("active", operator_user, "seasonal event")
    assert ModelVersion.objects.filter(status="active").count() == 1


@pytest.mark.django_db
def test_artifact_roundtrip_and_tamper_detection():
    version = _register(0.8)
    assert model_version_load(version=version) == {"mean": 0.8}
    version.artifact_sha256 = "0" * 64
    with pytest.raises(ArtifactIntegrityError, match="checksum"):
        model_version_load(version=version)

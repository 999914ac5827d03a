"""Each branch of "a candidate becomes active only when it beats the active one on the same backtest"."""

import pytest

from ecomops.models import ModelVersion
from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register

pytestmark = pytest.mark.django_db


def _trained(metrics: dict) -> TrainedModel:
    return TrainedModel(algorithm="m", artifact={"x": 1}, metrics=metrics)


def _statuses(name: str) -> list[tuple[int, str]]:
    return list(
        ModelVersion.objects.filter(registered_model__name=name).order_by("version").values_list("version", "status")
    )


def test_higher_is_better_models_promote_on_a_higher_metric_only():
    spec = ModelSpec(name="accuracy-model", primary_metric="f1", higher_is_better=True)
    assert model_version_promote_if_better(version=model_version_register(spec=spec, trained=_trained({"f1": 0.7})))
    assert not model_version_promote_if_better(version=model_version_register(spec=spec, trained=_trained({"f1": 0.6})))
    assert not model_version_promote_if_better(version=model_version_register(spec=spec, trained=_trained({"f1": 0.7})))
    assert model_version_promote_if_better(version=model_version_register(spec=spec, trained=_trained({"f1": 0.8})))
    assert _statuses("accuracy-model") == [(1, "archived"), (2, "candidate"), (3, "candidate"), (4, "active")]


def test_a_tie_keeps_the_incumbent():
    spec = ModelSpec(name="tie-model", primary_metric="mae")
    model_version_promote_if_better(version=model_version_register(spec=spec, trained=_trained({"mae": 1.0})))
    assert not model_version_promote_if_better(
        version=model_version_register(spec=spec, trained=_trained({"mae": 1.0}))
    )
    assert _statuses("tie-model") == [(1, "active"), (2, "candidate")]


def test_candidate_without_the_metric_is_never_promoted_but_beats_an_incumbent_without_it():
    spec = ModelSpec(name="gappy-model", primary_metric="mae")
    first = model_version_register(spec=spec, trained=_trained({"rmse": 1.0}))  # no mae recorded
    assert model_version_promote_if_better(version=first)  # nothing active yet: the first version serves
    second = model_version_register(spec=spec, trained=_trained({"mae": "n/a"}))
    assert not model_version_promote_if_better(version=second)
    third = model_version_register(spec=spec, trained=_trained({"mae": 2.5}))
    assert model_version_promote_if_better(version=third)  # a measured candidate beats an unmeasured incumbent
    assert _statuses("gappy-model") == [(1, "archived"), (2, "candidate"), (3, "active")]
    third.refresh_from_db()
    assert third.promotion_note == "automatic: mae 2.5 beats v1 (None)"

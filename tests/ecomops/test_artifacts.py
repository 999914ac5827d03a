import pytest

from ecomops import registry
from ecomops.registry import ArtifactIntegrityError, ModelSpec, TrainedModel, model_version_load, model_version_register
from ecomops.torch_device import torch_device

pytestmark = pytest.mark.django_db
SPEC = ModelSpec(name="artifact-test", primary_metric="mae")


class Custom:
    """Stands for code smuggled into an artifact."""


def test_torch_artifact_round_trip_with_weights_only_on_cpu():
    import torch

    device = torch_device("cpu")
    layer = torch.nn.Linear(3, 2).to(device)
    state = {"state_dict": layer.state_dict(), "features": ["a", "b", "c"], "epochs": 4}
    version = model_version_register(
        spec=SPEC, trained=TrainedModel("linear", state, {"mae": 1.0}, artifact_format="torch", device=str(device))
    )
    loaded = model_version_load(version=version)
    assert loaded["features"] == ["a", "b", "c"]
    assert loaded["epochs"] == 4
    restored = torch.nn.Linear(3, 2)
    restored.load_state_dict(loaded["state_dict"])
    assert torch.equal(restored.weight, layer.weight.cpu())
    assert version.device == "cpu"
    assert version.parameters["artifact_format"] == "torch"


def test_torch_artifact_with_code_is_refused_by_weights_only():
    import torch

    version = model_version_register(
        spec=SPEC, trained=TrainedModel("custom", {"obj": Custom, "t": torch.zeros(1)}, {}, artifact_format="torch")
    )
    with pytest.raises(Exception, match="Weights only load failed"):
        model_version_load(version=version)


def test_pickle_written_with_other_library_versions_is_refused(monkeypatch):
    version = model_version_register(spec=SPEC, trained=TrainedModel("mean", {"mean": 2.0}, {"mae": 1.0}))
    real = registry.library_versions()
    monkeypatch.setattr(registry, "library_versions", lambda: {**real, "numpy": "0.0.1"})
    with pytest.raises(ArtifactIntegrityError, match=rf"written with numpy {real['numpy']} \(now 0.0.1\); retrain it"):
        model_version_load(version=version)


def test_tampered_artifact_file_is_refused():
    from django.core.files.storage import default_storage

    version = model_version_register(spec=SPEC, trained=TrainedModel("mean", {"mean": 2.0}, {"mae": 1.0}))
    path = default_storage.path(version.artifact.name)
    with open(path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ArtifactIntegrityError, match="checksum"):
        model_version_load(version=version)


def test_torch_device_choice(monkeypatch):
    import torch

    monkeypatch.setenv("ECOMOPS_TORCH_DEVICE", "cpu")
    assert torch_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="must be auto, cpu or cuda, not 'tpu'"):
        torch_device("tpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch_device("auto").type == expected

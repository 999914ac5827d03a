"""The model registry: register trained models as versions, promote the better one, load artifacts safely.

Artifacts live in Django's default storage and are only loaded back from there, after their sha256 has
been checked. Two formats:

- ``torch``: a dict of tensors and plain values saved with ``torch.save`` and loaded with
  ``weights_only=True`` (no code runs on load);
- ``pickle``: scikit-learn / statsmodels / numpy objects, in an envelope that records the library versions
  they were written with; loading refuses a mismatch instead of silently mis-predicting.

Explanations. ``TrainedModel.explanation`` (stored on ``ModelVersion.explanation``) says what drives the
model's predictions; the model report (``/reports/platform/models/<name>/``) draws it. The convention::

    {
      "method": "importance" | "coefficient" | "shap",   # how "importance" was measured
      "global": [{"feature": "lag_7", "importance": 0.42}, ...],   # overall; signed for coefficients
      "local": [                                          # a few explained single predictions
        {"label": "SKU-1 @ WH-1 on 2018-05-01", "prediction": 12.3, "baseline": 10.0, "actual": 11,
         "contributions": [{"feature": "lag_7", "value": 14, "contribution": 1.8}, ...]}
      ],
      "notes": "one paragraph shown above the charts"
    }

Tree models give impurity or permutation importances (or mean |SHAP|) in ``global`` and SHAP values per
case in ``local``; linear models give coefficients (on standardised inputs) and coefficient x value.
Requests never load artifacts, so per-prediction explanations are computed when training or scoring:
keep a few representative cases in ``local``; prediction rows may carry their own contributions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import platform
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .jobs import JobCanceled, JobSuperseded
from .models import JobRun, ModelVersion, RegisteredModel

ENVELOPE_MAGIC = b"ECOMOPS-ARTIFACT-1\n"
_PINNED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "statsmodels")


class ArtifactIntegrityError(Exception):
    """The stored artifact does not match its recorded checksum or library versions."""


@dataclass(frozen=True)
class ModelSpec:
    """How a kind of model is compared: the backtest metric that decides promotion."""

    name: str
    primary_metric: str
    higher_is_better: bool = False
    description: str = ""


@dataclass
class TrainedModel:
    """What a trainer hands to the registry."""

    algorithm: str
    artifact: Any
    metrics: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    explanation: dict[str, Any] = field(default_factory=dict)
    data_start: datetime | None = None
    data_end: datetime | None = None
    as_of: date | None = None
    device: str = "cpu"
    artifact_format: str = "pickle"  # or "torch"


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in (*_PINNED_LIBRARIES, "torch", "Django"):
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


def registered_model_get_or_create(*, spec: ModelSpec) -> RegisteredModel:
    model, _ = RegisteredModel.objects.get_or_create(
        name=spec.name,
        defaults={
            "primary_metric": spec.primary_metric,
            "higher_is_better": spec.higher_is_better,
            "description": spec.description,
        },
    )
    return model


def _serialize(trained: TrainedModel) -> bytes:
    if trained.artifact_format == "torch":
        import torch

        buffer = io.BytesIO()
        torch.save(trained.artifact, buffer)
        return buffer.getvalue()
    if trained.artifact_format == "pickle":
        header = {k: v for k, v in library_versions().items() if k in _PINNED_LIBRARIES or k == "python"}
        return ENVELOPE_MAGIC + pickle.dumps({"versions": header, "payload": trained.artifact}, protocol=5)
    raise ValueError(f"unknown artifact format {trained.artifact_format!r}")


def _check_job_claim(job: JobRun | None) -> None:
    """A job attempt that was canceled or taken over by another attempt must not store a version."""
    token = getattr(job, "_claim_token", None)
    if job is None or token is None:
        return
    current = JobRun.objects.select_for_update().filter(pk=job.pk).values("state", "claim_token").first()
    if current is None or current["state"] == JobRun.State.CANCELED:
        raise JobCanceled(f"job {job.pk} was canceled; no version stored")
    if current["state"] != JobRun.State.RUNNING or current["claim_token"] != token:
        raise JobSuperseded(f"job {job.pk} is run by another attempt; no version stored")


def model_version_register(*, spec: ModelSpec, trained: TrainedModel, job: JobRun | None = None) -> ModelVersion:
    """Store the artifact and create the next version number as a candidate."""
    registered = registered_model_get_or_create(spec=spec)
    payload = _serialize(trained)
    digest = hashlib.sha256(payload).hexdigest()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                _check_job_claim(job)
                number = (registered.versions.aggregate(m=Max("version"))["m"] or 0) + 1
                version = ModelVersion(
                    registered_model=registered,
                    version=number,
                    algorithm=trained.algorithm,
                    parameters={**trained.parameters, "artifact_format": trained.artifact_format},
                    metrics=trained.metrics,
                    explanation=trained.explanation,
                    data_start=trained.data_start,
                    data_end=trained.data_end,
                    as_of=trained.as_of,
                    library_versions=library_versions(),
                    device=trained.device,
                    artifact_sha256=digest,
                    trained_by_job=job,
                )
                version.artifact.save(f"{spec.name}-v{number}-{digest[:12]}.bin", ContentFile(payload), save=False)
                version.save()
                return version
        except IntegrityError:
            continue  # another worker took this number; take the next
    raise RuntimeError(f"could not allocate a version number for {spec.name}")


def _metric(version: ModelVersion, name: str) -> float | None:
    value = version.metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def model_version_is_better(*, candidate: ModelVersion, incumbent: ModelVersion | None) -> bool:
    """True when the candidate beats the incumbent on the model's primary backtest metric."""
    if incumbent is None:
        return True
    registered = candidate.registered_model
    new, old = _metric(candidate, registered.primary_metric), _metric(incumbent, registered.primary_metric)
    if new is None:
        return False
    if old is None:
        return True
    return new > old if registered.higher_is_better else new < old


@transaction.atomic
def model_version_activate(*, version: ModelVersion, user=None, note: str = "") -> ModelVersion:
    """Make ``version`` the active one (archiving the previous), recording who did it and why."""
    registered = RegisteredModel.objects.select_for_update().get(pk=version.registered_model_id)
    registered.versions.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
        status=ModelVersion.Status.ARCHIVED
    )
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.promoted_by = user if user is not None and getattr(user, "is_authenticated", False) else None
    version.promotion_note = note
    version.save(update_fields=["status", "activated_at", "promoted_by", "promotion_note", "updated_at"])
    return version


def model_version_promote_if_better(*, version: ModelVersion) -> bool:
    """Activate the candidate when it beats the active version on the same backtest; else leave it a candidate."""
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().get(pk=version.registered_model_id)
        incumbent = version.registered_model.active_version
        if not model_version_is_better(candidate=version, incumbent=incumbent):
            return False
        metric = version.registered_model.primary_metric
        note = (
            f"automatic: {metric} {_metric(version, metric)} beats "
            f"{'nothing' if incumbent is None else f'v{incumbent.version} ({_metric(incumbent, metric)})'}"
        )
        model_version_activate(version=version, note=note)
    return True


def active_model_version(name: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.select_related("registered_model")
        .filter(registered_model__name=name, status=ModelVersion.Status.ACTIVE)
        .first()
    )


def model_version_load(*, version: ModelVersion) -> Any:
    """Load a version's artifact from our storage, verifying its checksum and library versions."""
    with default_storage.open(version.artifact.name, "rb") as handle:
        payload = handle.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != version.artifact_sha256:
        raise ArtifactIntegrityError(f"{version}: checksum {digest[:12]} != recorded {version.artifact_sha256[:12]}")
    artifact_format = version.parameters.get("artifact_format", "pickle")
    if artifact_format == "torch":
        import torch

        return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    if not payload.startswith(ENVELOPE_MAGIC):
        raise ArtifactIntegrityError(f"{version}: not an ecomops artifact")
    envelope = pickle.loads(payload[len(ENVELOPE_MAGIC) :])  # noqa: S301 - our own, checksum-verified file
    current = library_versions()
    mismatched = {k: (v, current.get(k)) for k, v in envelope["versions"].items() if current.get(k) != v}
    if mismatched:
        detail = ", ".join(f"{k} {old} (now {new})" for k, (old, new) in mismatched.items())
        raise ArtifactIntegrityError(f"{version} was written with {detail}; retrain it")
    return envelope["payload"]

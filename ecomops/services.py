"""Writes of the platform that admin actions, API views and commands share."""

from __future__ import annotations

from .jobs import get_job_handler, job_start, model_kinds
from .models import JobRun, RegisteredModel


class UnknownModelKind(ValueError):
    """No ``train:<name>`` / ``score:<name>`` handler is registered for the named model."""


def model_job_start(
    *, name: str, action: str, parameters: dict | None = None, requested_by=None, requested_via: str
) -> JobRun:
    """Start ``train`` or ``score`` of model ``name``; raises UnknownModelKind naming the kinds that exist."""
    if action not in {"train", "score"}:
        raise ValueError(f"action must be train or score, not {action!r}")
    kind = f"{action}:{name}"
    try:
        get_job_handler(kind)
    except ValueError:
        known = ", ".join(model_kinds(action)) or "none registered"
        raise UnknownModelKind(f"no {action} job for model {name!r}; models with one: {known}") from None
    return job_start(kind=kind, parameters=parameters, requested_by=requested_by, requested_via=requested_via)


def registered_models_job_start(
    *, models: list[RegisteredModel], action: str, requested_by=None, requested_via: str
) -> tuple[list[JobRun], list[str]]:
    """Start ``action`` for each model that has a handler; returns the jobs and the names that had none."""
    jobs, missing = [], []
    for model in models:
        try:
            jobs.append(
                model_job_start(name=model.name, action=action, requested_by=requested_by, requested_via=requested_via)
            )
        except UnknownModelKind:
            missing.append(model.name)
    return jobs, missing

"""Reads of the platform tables: jobs and the model registry, as QuerySets or DataFrames for reports."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from django.db.models import QuerySet
from django.utils import timezone

from .models import JobRun, ModelVersion, RegisteredModel

EXPLANATION_KINDS = ("importance", "coefficient", "shap")


def jobs_recent(*, kinds: list[str] | None = None, since=None, limit: int | None = None) -> QuerySet[JobRun]:
    jobs = JobRun.objects.select_related("requested_by").order_by("-created_at", "-pk")
    if kinds:
        jobs = jobs.filter(kind__in=kinds)
    if since is not None:
        jobs = jobs.filter(created_at__gte=since)
    return jobs[:limit] if limit else jobs


def jobs_frame(*, days: int = 30, kinds: list[str] | None = None) -> pd.DataFrame:
    """One row per job of the last ``days`` days: kind, state, timings, attempts, error."""
    since = timezone.now() - timedelta(days=days)
    rows = jobs_recent(kinds=kinds, since=since).values(
        "pk",
        "kind",
        "state",
        "progress",
        "requested_via",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "error",
    )
    df = pd.DataFrame.from_records(
        list(rows),
        columns=[
            "pk",
            "kind",
            "state",
            "progress",
            "requested_via",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
            "error",
        ],
    )
    df = df.rename(columns={"pk": "job_id"})
    for column in ("created_at", "started_at", "finished_at"):
        df[column] = pd.to_datetime(df[column], utc=True)
    df["duration_seconds"] = (df["finished_at"] - df["started_at"]).dt.total_seconds()
    df["queue_wait_seconds"] = (df["started_at"] - df["created_at"]).dt.total_seconds()
    return df


def jobs_health_by_kind(df: pd.DataFrame) -> pd.DataFrame:
    """Per job kind: counts per state, failure rate among finished jobs, median and max duration."""
    columns = ["kind", "jobs", "succeeded", "failed", "canceled", "running", "queued", "failure_rate"]
    columns += ["median_seconds", "max_seconds"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab(df["kind"], df["state"])
    for state in JobRun.State.values:
        if state not in counts:
            counts[state] = 0
    finished = counts["succeeded"] + counts["failed"]
    summary = pd.DataFrame(
        {
            "jobs": counts[JobRun.State.values].sum(axis=1),
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "canceled": counts["canceled"],
            "running": counts["running"],
            "queued": counts["queued"],
            "failure_rate": (counts["failed"] / finished.where(finished > 0)).round(3),
        }
    )
    durations = df.groupby("kind")["duration_seconds"].agg(["median", "max"])
    summary["median_seconds"] = durations["median"].round(2)
    summary["max_seconds"] = durations["max"].round(2)
    return summary.reset_index()[columns].sort_values("kind").reset_index(drop=True)


def registered_models() -> QuerySet[RegisteredModel]:
    return RegisteredModel.objects.order_by("name")


def model_versions_frame(*, model: RegisteredModel | None = None) -> pd.DataFrame:
    """One row per version: model, number, status, algorithm, data window, device and every metric."""
    versions = ModelVersion.objects.select_related("registered_model").order_by("registered_model__name", "version")
    if model is not None:
        versions = versions.filter(registered_model=model)
    records = []
    for version in versions:
        record = {
            "model": version.registered_model.name,
            "version": version.version,
            "status": version.status,
            "algorithm": version.algorithm,
            "created_at": version.created_at,
            "as_of": version.as_of,
            "data_start": version.data_start,
            "data_end": version.data_end,
            "device": version.device,
            "primary_metric": version.registered_model.primary_metric,
            "primary_value": _number(version.metrics.get(version.registered_model.primary_metric)),
            "trained_by_job": version.trained_by_job_id,
        }
        for key, value in sorted(version.metrics.items()):
            if _number(value) is not None:
                record[f"metric:{key}"] = _number(value)
        records.append(record)
    columns = ["model", "version", "status", "algorithm", "created_at", "as_of", "data_start", "data_end"]
    columns += ["device", "primary_metric", "primary_value", "trained_by_job"]
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=columns)
    if not df.empty:
        df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def explanation_global_frame(explanation: dict) -> pd.DataFrame:
    """The ``global`` part of a ModelVersion.explanation as rows of feature and importance, largest first.

    The explanation convention (see ``ecomops.registry``)::

        {
          "method": "importance" | "coefficient" | "shap",
          "global": [{"feature": "lag_7", "importance": 0.42}, ...],
          "local": [{"label": "SKU-1 @ WH-1 on 2018-05-01", "prediction": 12.3, "baseline": 10.0,
                     "contributions": [{"feature": "lag_7", "value": 14, "contribution": 1.8}, ...]}],
          "notes": "free text shown above the charts"
        }
    """
    rows = [
        {"feature": str(item.get("feature", "")), "importance": _number(item.get("importance"))}
        for item in explanation.get("global", [])
        if isinstance(item, dict)
    ]
    df = pd.DataFrame(rows, columns=["feature", "importance"]).dropna(subset=["importance"])
    if df.empty:
        return df
    return df.reindex(df["importance"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def explanation_local_frames(explanation: dict) -> list[tuple[str, dict, pd.DataFrame]]:
    """The ``local`` examples: (label, header values, contributions frame) per explained prediction."""
    examples = []
    for index, item in enumerate(explanation.get("local", []) or []):
        if not isinstance(item, dict):
            continue
        rows = [
            {
                "feature": str(c.get("feature", "")),
                "value": c.get("value"),
                "contribution": _number(c.get("contribution")),
            }
            for c in item.get("contributions", [])
            if isinstance(c, dict)
        ]
        frame = pd.DataFrame(rows, columns=["feature", "value", "contribution"]).dropna(subset=["contribution"])
        if not frame.empty:
            frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index)
        header = {k: item[k] for k in ("prediction", "baseline", "actual") if k in item}
        examples.append((str(item.get("label", f"example {index + 1}")), header, frame.reset_index(drop=True)))
    return examples

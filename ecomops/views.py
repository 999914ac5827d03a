"""HTML reports of the platform: the model registry, one page per model with its explanation, job health."""

from __future__ import annotations

import pandas as pd
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html

from .models import JobRun, ModelVersion, RegisteredModel
from .reports import Chart, ReportInputError, ReportView, Table, bar_chart, histogram_chart, line_chart
from .selectors import (
    explanation_global_frame,
    explanation_local_frames,
    jobs_frame,
    jobs_health_by_kind,
    jobs_recent,
    model_versions_frame,
    registered_models,
)


def _job_link(job_id) -> str:
    if job_id is None or pd.isna(job_id):
        return ""
    return format_html('<a href="{}">#{}</a>', reverse("admin:ecomops_jobrun_change", args=[int(job_id)]), int(job_id))


def _jobs_table(title: str, kinds: list[str] | None, limit: int = 20) -> Table:
    jobs = list(jobs_recent(kinds=kinds, limit=limit))
    frame = pd.DataFrame(
        [
            {
                "job": _job_link(job.pk),
                "kind": job.kind,
                "state": job.state,
                "progress": f"{job.progress}%",
                "requested": job.created_at,
                "via": job.requested_via,
                "seconds": job.duration_seconds,
                "error": job.error[:120],
            }
            for job in jobs
        ],
        columns=["job", "kind", "state", "progress", "requested", "via", "seconds", "error"],
    )
    frame["requested"] = pd.to_datetime(frame["requested"], utc=True)
    return Table(title=title, data=frame)


class ModelRegistryReport(ReportView):
    """Every registered model, its active version and how its backtest metric moved over versions."""

    title = "Model registry"
    description = "Every model kind, its active version and backtest metric over versions, and the last jobs."
    section = "Platform"
    permission_required = "ecomops.view_modelversion"

    def get_data(self) -> pd.DataFrame:
        return model_versions_frame()

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        charts = []
        for name, versions in df.groupby("model", sort=True) if not df.empty else []:
            metric = versions["primary_metric"].iloc[0]
            charts.append(
                line_chart(
                    versions,
                    x="version",
                    y="primary_value",
                    title=f"{name}: {metric} by version",
                    ylabel=metric,
                    caption="Backtest metric of every trained version; the active one is marked in the table.",
                )
            )
        return charts

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        rows = []
        for model in registered_models().prefetch_related("versions"):
            versions = list(model.versions.all())
            active = next((v for v in versions if v.status == ModelVersion.Status.ACTIVE), None)
            latest = max(versions, key=lambda v: v.version, default=None)
            rows.append(
                {
                    "model": format_html(
                        '<a href="{}">{}</a>', reverse("ecomops_reports:model", args=[model.name]), model.name
                    ),
                    "active version": active.version if active else "",
                    "algorithm": active.algorithm if active else "",
                    "metric": f"{model.primary_metric} = {active.metrics.get(model.primary_metric)}" if active else "",
                    "versions": len(versions),
                    "latest": f"v{latest.version} ({latest.status})" if latest else "",
                    "trained": active.created_at if active else None,
                }
            )
        models = pd.DataFrame(
            rows, columns=["model", "active version", "algorithm", "metric", "versions", "latest", "trained"]
        )
        return [
            Table(title="Models", data=models),
            _jobs_table("Last training and scoring jobs", kinds=None, limit=20),
        ]

    def get_summary(self, df: pd.DataFrame) -> dict:
        return {
            "models": RegisteredModel.objects.count(),
            "versions": len(df),
            "active": int((df["status"] == "active").sum()) if not df.empty else 0,
        }


class ModelReport(ReportView):
    """One model: versions and metrics, and what drives its predictions (its explanation), overall and per case."""

    description = "Versions, backtest metrics and what drives the predictions of this model."
    section = "Platform"
    permission_required = "ecomops.view_modelversion"
    template_name = "ecomops/model_report.html"

    def get_model(self) -> RegisteredModel:
        if not hasattr(self, "_model"):
            self._model = get_object_or_404(RegisteredModel, name=self.kwargs["name"])
        return self._model

    def get_title(self) -> str:
        return f"Model: {self.kwargs['name']}"

    def get_version(self) -> ModelVersion | None:
        """The version explained: ``?version=N``, else the active one, else the latest."""
        model = self.get_model()
        raw = self.request.GET.get("version")
        if raw:
            if not raw.isdigit():
                raise ReportInputError(f"version must be a whole number, not {raw!r}")
            version = model.versions.filter(version=int(raw)).first()
            if version is None:
                raise Http404(f"{model.name} has no version {raw}")
            return version
        return model.active_version or model.versions.order_by("-version").first()

    def get_data(self) -> pd.DataFrame:
        return model_versions_frame(model=self.get_model())

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        charts = []
        metric_columns = [c for c in df.columns if c.startswith("metric:")]
        if metric_columns:
            primary = f"metric:{self.get_model().primary_metric}"
            ordered = ([primary] if primary in metric_columns else []) + [c for c in metric_columns if c != primary]
            for column in ordered[:4]:
                charts.append(
                    line_chart(df, x="version", y=column, title=f"{column[7:]} by version", ylabel=column[7:])
                )
        version = self.get_version()
        if version is not None:
            importance = explanation_global_frame(version.explanation)
            if not importance.empty:
                method = version.explanation.get("method", "importance")
                charts.append(
                    bar_chart(
                        importance.head(25),
                        x="feature",
                        y="importance",
                        horizontal=True,
                        title=f"v{version.version}: what drives predictions ({method})",
                        caption="Overall effect of each input on the predictions (largest first).",
                    )
                )
            for label, _header, frame in explanation_local_frames(version.explanation)[:5]:
                if not frame.empty:
                    charts.append(
                        bar_chart(
                            frame.head(15),
                            x="feature",
                            y="contribution",
                            horizontal=True,
                            title=f"One prediction: {label}",
                            caption="How much each input moved this prediction away from the baseline.",
                        )
                    )
        return charts

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        shown = df.drop(columns=["model", "primary_metric"], errors="ignore").copy()
        if not shown.empty:
            shown["trained_by_job"] = shown["trained_by_job"].map(_job_link)
        tables = [Table(title="Versions", data=shown.sort_values("version", ascending=False) if len(shown) else shown)]
        version = self.get_version()
        if version is not None:
            importance = explanation_global_frame(version.explanation)
            if not importance.empty:
                tables.append(Table(title=f"Explanation of v{version.version}", data=importance))
            for label, header, frame in explanation_local_frames(version.explanation)[:5]:
                caption = ", ".join(f"{k}: {v}" for k, v in header.items())
                tables.append(Table(title=f"One prediction: {label}", data=frame, caption=caption))
        name = self.get_model().name
        tables.append(_jobs_table("Last jobs of this model", kinds=[f"train:{name}", f"score:{name}"], limit=10))
        return tables

    def get_summary(self, df: pd.DataFrame) -> dict:
        model = self.get_model()
        active = model.active_version
        if active is None:
            return {"active version": "none", "versions": len(df)}
        return {
            "active version": f"v{active.version}",
            "algorithm": active.algorithm or "-",
            model.primary_metric: active.metrics.get(model.primary_metric, "-"),
            "device": active.device,
            "trained on data before": active.as_of or "-",
            "versions": len(df),
        }

    def get_extra_context(self) -> dict:
        version = self.get_version()
        return {
            "model": self.get_model(),
            "explained_version": version,
            "explanation_notes": (version.explanation.get("notes", "") if version else ""),
            "versions": list(self.get_model().versions.order_by("-version").values_list("version", flat=True)),
        }


class JobHealthReport(ReportView):
    """Job durations, failures and queue waits per kind over the last days (``?days=N``, default 30)."""

    title = "Job health"
    description = "How long jobs take, how often they fail, and how long they wait in the queue, per kind."
    section = "Platform"
    permission_required = "ecomops.view_jobrun"

    def get_days(self) -> int:
        return self.param_int("days", 30, minimum=1, maximum=3650)

    def get_title(self) -> str:
        return f"Job health (last {self.get_days()} days)"

    def get_data(self) -> pd.DataFrame:
        return jobs_frame(days=self.get_days())

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        by_kind = jobs_health_by_kind(df)
        return [
            bar_chart(by_kind, x="kind", y=["succeeded", "failed", "canceled"], title="Jobs per kind and outcome"),
            bar_chart(by_kind.fillna(0), x="kind", y="median_seconds", title="Median duration per kind (s)"),
            histogram_chart(df["duration_seconds"], title="Durations of finished jobs", xlabel="seconds"),
        ]

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        failures = df[df["state"] == JobRun.State.FAILED].head(20).copy()
        failures["job_id"] = failures["job_id"].map(_job_link)
        return [
            Table(title="Per kind", data=jobs_health_by_kind(df)),
            Table(title="Recent failures", data=failures[["job_id", "kind", "created_at", "attempts", "error"]]),
        ]

    def get_summary(self, df: pd.DataFrame) -> dict:
        finished = df[df["state"].isin([JobRun.State.SUCCEEDED, JobRun.State.FAILED])]
        failed = int((df["state"] == JobRun.State.FAILED).sum())
        return {
            "jobs": len(df),
            "succeeded": int((df["state"] == JobRun.State.SUCCEEDED).sum()),
            "failed": failed,
            "running": int((df["state"] == JobRun.State.RUNNING).sum()),
            "queued": int((df["state"] == JobRun.State.QUEUED).sum()),
            "failure rate": f"{failed / len(finished):.1%}" if len(finished) else "-",
        }

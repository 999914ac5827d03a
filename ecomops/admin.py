"""Admin of the platform: jobs with their progress and log, the model registry with retrain / re-score / promote."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .jobs import job_cancel, job_handlers, job_parameters_clean, job_start
from .models import JobRun, ModelVersion, RegisteredModel, defer_documents
from .registry import model_version_activate
from .services import registered_models_job_start


def progress_bar(job: JobRun) -> str:
    return format_html(
        '<span class="progress" role="progressbar" aria-valuenow="{0}" aria-valuemin="0" aria-valuemax="100" '
        'data-job="{1}" data-state="{2}" title="{0}% {3}" style="display:inline-block;width:120px;height:12px;'
        'background:var(--darkened-bg);border-radius:3px;vertical-align:middle">'
        '<span style="display:block;height:100%;width:{0}%;background:{4};border-radius:3px"></span></span> {0}%',
        job.progress,
        job.pk,
        job.state,
        job.progress_message,
        "var(--error-fg)" if job.state == JobRun.State.FAILED else "var(--primary)",
    )


def _pretty_json(value) -> str:
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', json.dumps(value, indent=2, default=str))


class ModelVersionListFilter(admin.RelatedFieldListFilter):
    """The model versions of a list filter, named without reading their JSON documents (the stock filter loads
    every version whole and then each one's registered model: 2.7 s of a page of elasticities at full Olist
    scale). ``only_used``: only versions that rows of the list refer to."""

    only_used = False

    def field_choices(self, field, request, model_admin):
        versions = (
            ModelVersion.objects.select_related("registered_model")
            .defer(*ModelVersion.DOCUMENT_FIELDS)
            .order_by("registered_model__name", "-version")
        )
        if self.only_used:
            versions = versions.filter(pk__in=model_admin.get_queryset(request).values(self.field_path))
        return [(version.pk, str(version)) for version in versions]


class UsedModelVersionListFilter(ModelVersionListFilter):
    only_used = True


class ModelVersionColumnMixin:
    """For a ModelAdmin whose rows show their ``model_version``: its JSON documents are not read for each row."""

    def get_queryset(self, request):
        return defer_documents(super().get_queryset(request))


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "progress_display", "progress_message", "requested_via", "requested_by"]
    list_display += ["created_at", "duration"]
    list_filter = ["state", "kind", "requested_via", "queue"]
    search_fields = ["kind", "error", "celery_task_id"]
    date_hierarchy = "created_at"
    actions = ["cancel_jobs"]
    list_select_related = ["requested_by"]
    change_form_template = "admin/ecomops/jobrun/change_form.html"
    change_list_template = "admin/ecomops/jobrun/change_list.html"
    fieldsets = [
        (None, {"fields": ["kind", "state", "progress_display", "progress_message", "parameters_display"]}),
        ("Who and when", {"fields": ["requested_by", "requested_via", "created_at", "started_at", "finished_at"]}),
        ("Execution", {"fields": ["queue", "celery_task_id", "worker", "attempts", "time_limit_seconds"]}),
        ("Outcome", {"fields": ["result_display", "error", "traceback_display", "log_display"]}),
    ]

    @admin.display(description="progress", ordering="progress")
    def progress_display(self, job: JobRun) -> str:
        return progress_bar(job)

    @admin.display(description="duration")
    def duration(self, job: JobRun) -> str:
        seconds = job.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="parameters")
    def parameters_display(self, job: JobRun) -> str:
        return _pretty_json(job.parameters)

    @admin.display(description="result")
    def result_display(self, job: JobRun) -> str:
        return _pretty_json(job.result)

    @admin.display(description="traceback")
    def traceback_display(self, job: JobRun) -> str:
        return format_html('<pre class="job-traceback" style="white-space:pre-wrap;margin:0">{}</pre>', job.traceback)

    @admin.display(description="log")
    def log_display(self, job: JobRun) -> str:
        return format_html(
            '<pre class="job-log" style="white-space:pre-wrap;max-height:30em;overflow:auto;margin:0">{}</pre>',
            job.log,
        )

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        return False  # jobs are started by retrain/re-score actions, the API, commands and schedules

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_urls(self):
        from django.urls import path

        start = path("start/", self.admin_site.admin_view(self.start_view), name="ecomops_jobrun_start")
        cancel = path("<int:pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="ecomops_jobrun_cancel")
        return [start, cancel, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        read_only = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**read_only, **(extra_context or {})})

    def cancel_view(self, request, pk: int):
        """POST from the job page's Cancel button."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:ecomops_jobrun_change", args=[pk]))
        job = get_object_or_404(JobRun, pk=pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        if job_cancel(job=job):
            self.message_user(request, f"Canceled job {job.pk}.", messages.SUCCESS)
        else:
            job.refresh_from_db()
            self.message_user(request, f"Job {job.pk} had already finished ({job.state}).", messages.WARNING)
        return HttpResponseRedirect(_job_url(job))

    def start_view(self, request):
        """Start any registered job kind (also model kinds never trained yet), with optional as-of date."""
        if not request.user.has_perm("ecomops.add_jobrun"):
            raise PermissionDenied
        form = JobStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            job = job_start(
                kind=form.cleaned_data["kind"],
                parameters=form.cleaned_data["parameters"],
                requested_by=request.user,
                requested_via="admin",
            )
            self.message_user(request, f"Started {job.kind} as job {job.pk}.", messages.SUCCESS)
            return HttpResponseRedirect(_job_url(job))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a job",
            "form": form,
            "opts": self.model._meta,
            "handlers": job_handlers().values(),
        }
        return TemplateResponse(request, "admin/ecomops/jobrun/start.html", context)

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_jobs(self, request, queryset):
        canceled = sum(job_cancel(job=job) for job in queryset)
        skipped = queryset.count() - canceled
        self.message_user(request, f"Canceled {canceled} job(s); {skipped} had already finished.", messages.SUCCESS)


class JobStartForm(forms.Form):
    kind = forms.ChoiceField(choices=())
    as_of = forms.DateField(
        required=False, help_text="Train only on data strictly before this date (YYYY-MM-DD); empty: all data."
    )
    parameters = forms.JSONField(
        required=False, initial=dict, help_text='Other parameters as JSON, e.g. {"horizon": 28}.'
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, f"{kind}: {h.description}") for kind, h in job_handlers().items()]

    def clean(self):
        cleaned = super().clean()
        parameters = cleaned.get("parameters") or {}
        if not isinstance(parameters, dict):
            self.add_error("parameters", "parameters must be a JSON object")
            return cleaned
        if cleaned.get("as_of"):
            parameters["as_of"] = cleaned["as_of"].isoformat()
        try:
            cleaned["parameters"] = job_parameters_clean(parameters)
        except ValueError as exc:
            self.add_error("parameters", str(exc))
        return cleaned


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["version", "status", "algorithm", "primary_metric_value", "device", "as_of", "created_at"]
    readonly_fields = fields
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="primary metric")
    def primary_metric_value(self, version: ModelVersion):
        return version.metrics.get(version.registered_model.primary_metric, "")


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "primary_metric", "higher_is_better", "active_version_display", "report_link"]
    search_fields = ["name", "description"]
    inlines = [ModelVersionInline]
    actions = ["retrain", "rescore"]
    readonly_fields = ["name", "primary_metric", "higher_is_better", "report_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description="active version")
    def active_version_display(self, model: RegisteredModel) -> str:
        active = next((v for v in model.versions.all() if v.status == ModelVersion.Status.ACTIVE), None)
        if active is None:
            return "-"
        return f"v{active.version}: {model.primary_metric} = {active.metrics.get(model.primary_metric, '?')}"

    @admin.display(description="report")
    def report_link(self, model: RegisteredModel) -> str:
        return format_html('<a href="{}">report</a>', reverse("ecomops_reports:model", args=[model.name]))

    def has_add_permission(self, request) -> bool:
        return False  # models register themselves when first trained

    def _start(self, request, queryset, action: str):
        jobs, missing = registered_models_job_start(
            models=list(queryset), action=action, requested_by=request.user, requested_via="admin"
        )
        if missing:
            self.message_user(
                request, f"No {action} job exists for: {', '.join(missing)}; nothing started for them.", messages.ERROR
            )
        if jobs:
            links = format_html_join(
                ", ", '<a href="{}">{} #{}</a>', ((_job_url(job), job.kind, job.pk) for job in jobs)
            )
            self.message_user(request, format_html("Started {}.", links), messages.SUCCESS)
        if len(jobs) == 1:
            return HttpResponseRedirect(_job_url(jobs[0]))
        return None

    @admin.action(description="Retrain selected models", permissions=["change"])
    def retrain(self, request, queryset):
        return self._start(request, queryset, "train")

    @admin.action(description="Re-score with the active version", permissions=["change"])
    def rescore(self, request, queryset):
        return self._start(request, queryset, "score")


def _job_url(job: JobRun) -> str:
    return reverse("admin:ecomops_jobrun_change", args=[job.pk])


class PromoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why this version should serve although it may not beat the active one on the backtest.",
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "registered_model", "version", "status", "algorithm", "primary_metric_value", "device"]
    list_display += ["as_of", "created_at", "trained_by_job"]
    list_filter = ["status", "registered_model", "device"]
    list_select_related = ["registered_model", "trained_by_job"]
    search_fields = ["registered_model__name", "algorithm"]
    actions = ["promote"]
    fieldsets = [
        (None, {"fields": ["registered_model", "version", "status", "algorithm", "device", "trained_by_job"]}),
        ("Backtest", {"fields": ["metrics_display", "parameters_display"]}),
        ("Explanation", {"fields": ["explanation_display"]}),
        ("Data", {"fields": ["data_start", "data_end", "as_of", "library_versions_display"]}),
        ("Artifact", {"fields": ["artifact", "artifact_sha256"]}),
        ("Promotion", {"fields": ["activated_at", "promoted_by", "promotion_note"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        read_only = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**read_only, **(extra_context or {})})

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # prediction rows point at versions

    @admin.display(description="primary metric")
    def primary_metric_value(self, version: ModelVersion):
        metric = version.registered_model.primary_metric
        return f"{metric} = {version.metrics.get(metric, '?')}"

    @admin.display(description="metrics")
    def metrics_display(self, version: ModelVersion) -> str:
        return _pretty_json(version.metrics)

    @admin.display(description="parameters")
    def parameters_display(self, version: ModelVersion) -> str:
        return _pretty_json(version.parameters)

    @admin.display(description="library versions")
    def library_versions_display(self, version: ModelVersion) -> str:
        return _pretty_json(version.library_versions)

    @admin.display(description="explanation")
    def explanation_display(self, version: ModelVersion) -> str:
        link = format_html(
            '<a href="{}?version={}">Charts in the model report</a>',
            reverse("ecomops_reports:model", args=[version.registered_model.name]),
            version.version,
        )
        return format_html("{}{}", link, _pretty_json(version.explanation))

    @admin.action(description="Promote to active (by hand, with a note)", permissions=["change"])
    def promote(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return None
        version = queryset.select_related("registered_model").get()
        form = PromoteForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            model_version_activate(version=version, user=request.user, note=form.cleaned_data["note"])
            self.message_user(request, f"{version.registered_model.name} v{version.version} is now active.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Promote {version.registered_model.name} v{version.version} to active",
            "version": version,
            "active": version.registered_model.active_version,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/ecomops/modelversion/promote.html", context)

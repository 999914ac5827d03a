"""Shared platform tables: background jobs and the model registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class TimeStampedModel(models.Model):
    """Abstract base: creation and last-change timestamps."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class JobRun(TimeStampedModel):
    """One background job (training, scoring, import): its state, progress, log and error."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    kind = models.CharField(max_length=64, db_index=True, help_text="What the job does, e.g. train:demand.")
    parameters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_via = models.CharField(max_length=32, blank=True, help_text="admin, api, command, schedule, ...")
    celery_task_id = models.CharField(max_length=255, blank=True, db_index=True)
    queue = models.CharField(max_length=32, blank=True, help_text="Celery queue it was sent to.")
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    time_limit_seconds = models.PositiveIntegerField(default=3600)
    # The claim of the attempt now running: only the holder of the token may write progress and results, so a
    # superseded attempt (its worker was presumed lost) can never overwrite the one that replaced it.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    worker = models.CharField(max_length=255, blank=True, help_text="host:pid of the process running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0, help_text="Fan-out: chunks queued.")
    chunks_done = models.PositiveIntegerField(default=0, help_text="Fan-out: chunks finished.")
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    log = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="jobrun_progress_at_most_100"),
            models.CheckConstraint(condition=Q(chunks_done__lte=F("chunks_total")), name="jobrun_chunks_done_le_total"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELED}

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def model_name(self) -> str:
        """``demand`` for ``train:demand`` / ``score:demand``; empty for other kinds."""
        action, _, name = self.kind.partition(":")
        return name if action in {"train", "score"} else ""


class RegisteredModel(TimeStampedModel):
    """A kind of model ecomops trains (demand, delivery, sentiment, ...); it has versions."""

    name = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    primary_metric = models.CharField(max_length=64, help_text="Backtest metric that decides promotion.")
    higher_is_better = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def active_version(self) -> ModelVersion | None:
        return self.versions.filter(status=ModelVersion.Status.ACTIVE).first()


class ModelVersion(TimeStampedModel):
    """One trained model: parameters, backtest metrics, data window, library versions and its artifact."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    #: The columns that are whole JSON documents (a price-response version explains 18k products' elasticities in
    #: ``explanation``): lists whose rows show their version leave them unread (``defer_documents``).
    DOCUMENT_FIELDS = ("parameters", "metrics", "explanation", "library_versions")

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    algorithm = models.CharField(max_length=128, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    explanation = models.JSONField(default=dict, blank=True, help_text="Feature importances / coefficients.")
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True, help_text="Training used only data before this date.")
    library_versions = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=32, default="cpu")
    artifact = models.FileField(upload_to="models/%Y/%m/", blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    trained_by_job = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion_note = models.TextField(blank=True)

    class Meta:
        ordering = ["registered_model__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "version"], name="modelversion_unique_number"),
            models.UniqueConstraint(
                fields=["registered_model"],
                condition=Q(status="active"),
                name="modelversion_one_active_per_model",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version} ({self.status})"


class IdempotencyRecord(models.Model):
    """The first response to a request made with an ``Idempotency-Key``; a replay returns it unchanged."""

    key = models.CharField(max_length=128)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "method", "path"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


def defer_documents(queryset, path: str = "model_version"):
    """``queryset`` (rows with a ForeignKey ``path`` to ModelVersion, select_related) without the version's JSON
    documents: a page of 100 rows decoded the same megabytes once per row."""
    return queryset.defer(*(f"{path}__{name}" for name in ModelVersion.DOCUMENT_FIELDS))

"""Serializers of the platform API: jobs and the model registry."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecomops.jobs import get_job_handler, job_parameters_clean
from ecomops.models import JobRun, ModelVersion, RegisteredModel


class JobRunSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = JobRun
        fields = [
            "id",
            "url",
            "kind",
            "parameters",
            "state",
            "progress",
            "progress_message",
            "queue",
            "attempts",
            "requested_by",
            "requested_via",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "result",
            "error",
        ]
        read_only_fields = fields

    def get_url(self, job: JobRun) -> str:
        request = self.context.get("request")
        path = reverse("jobrun-detail", args=[job.pk])
        return request.build_absolute_uri(path) if request else path


class JobRunDetailSerializer(JobRunSerializer):
    class Meta(JobRunSerializer.Meta):
        fields = [*JobRunSerializer.Meta.fields, "traceback", "log"]
        read_only_fields = fields


class JobStartSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=64)
    parameters = serializers.JSONField(required=False, default=dict)

    def validate_kind(self, kind: str) -> str:
        try:
            get_job_handler(kind)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return kind

    def validate_parameters(self, parameters) -> dict:
        try:
            return job_parameters_clean(parameters)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ModelJobSerializer(serializers.Serializer):
    parameters = serializers.JSONField(required=False, default=dict)

    def validate_parameters(self, parameters) -> dict:
        try:
            return job_parameters_clean(parameters)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ModelVersionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="registered_model.name", read_only=True)
    promoted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "version",
            "status",
            "algorithm",
            "parameters",
            "metrics",
            "explanation",
            "data_start",
            "data_end",
            "as_of",
            "library_versions",
            "device",
            "artifact_sha256",
            "trained_by_job",
            "created_at",
            "activated_at",
            "promoted_by",
            "promotion_note",
        ]
        read_only_fields = fields


class ModelVersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "version", "status", "algorithm", "metrics", "as_of", "device", "created_at"]
        read_only_fields = fields


class RegisteredModelSerializer(serializers.ModelSerializer):
    active_version = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()
    can_train = serializers.SerializerMethodField()
    can_score = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "description",
            "primary_metric",
            "higher_is_better",
            "active_version",
            "versions",
            "can_train",
            "can_score",
        ]
        read_only_fields = fields

    def _versions(self, model: RegisteredModel) -> list[ModelVersion]:
        return sorted(model.versions.all(), key=lambda v: -v.version)  # prefetched by the view

    @extend_schema_field(ModelVersionSummarySerializer(allow_null=True))
    def get_active_version(self, model: RegisteredModel):
        active = next((v for v in self._versions(model) if v.status == ModelVersion.Status.ACTIVE), None)
        return ModelVersionSummarySerializer(active).data if active else None

    @extend_schema_field(ModelVersionSummarySerializer(many=True))
    def get_versions(self, model: RegisteredModel):
        return ModelVersionSummarySerializer(self._versions(model), many=True).data

    def _has(self, action: str, model: RegisteredModel) -> bool:
        try:
            get_job_handler(f"{action}:{model.name}")
        except ValueError:
            return False
        return True

    def get_can_train(self, model: RegisteredModel) -> bool:
        return self._has("train", model)

    def get_can_score(self, model: RegisteredModel) -> bool:
        return self._has("score", model)


class ActivateSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="Why this version is promoted by hand.")

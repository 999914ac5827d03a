"""Platform API: start and follow jobs, read the model registry, promote a version by hand."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ecomops.api.idempotency import idempotent
from ecomops.jobs import job_cancel, job_start
from ecomops.models import JobRun, ModelVersion, RegisteredModel
from ecomops.registry import model_version_activate
from ecomops.services import UnknownModelKind, model_job_start

from .serializers import (
    ActivateSerializer,
    JobRunDetailSerializer,
    JobRunSerializer,
    JobStartSerializer,
    ModelJobSerializer,
    ModelVersionSerializer,
    RegisteredModelSerializer,
)


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"needs the {perm} permission")


class JobRunFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter()
    kind_prefix = django_filters.CharFilter(field_name="kind", lookup_expr="startswith")
    state = django_filters.MultipleChoiceFilter(choices=JobRun.State.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = JobRun
        fields = ["kind", "kind_prefix", "state", "requested_via", "created_after"]


class JobRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Jobs: ``POST`` {kind, parameters} starts one (202 with its id and URL); ``GET`` follows it."""

    queryset = JobRun.objects.select_related("requested_by").order_by("-created_at", "-pk")
    filterset_class = JobRunFilter
    ordering_fields = ["created_at", "finished_at", "state"]
    search_fields = ["kind"]

    def get_serializer_class(self):
        if self.action == "create":
            return JobStartSerializer
        return JobRunDetailSerializer if self.action == "retrieve" else JobRunSerializer

    @extend_schema(request=JobStartSerializer, responses={202: JobRunSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = JobStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_start(
            kind=serializer.validated_data["kind"],
            parameters=serializer.validated_data["parameters"],
            requested_by=request.user,
            requested_via="api",
        )
        data = JobRunSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(request=None, responses={200: JobRunSerializer, 409: None})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def cancel(self, request, pk=None):
        """Cancel a queued or running job; 409 when it has already finished."""
        _require(request, "ecomops.change_jobrun")
        job = self.get_object()
        if not job_cancel(job=job):
            job.refresh_from_db()
            return Response(
                {"detail": f"job {job.pk} has already finished ({job.state}); nothing to cancel"},
                status=status.HTTP_409_CONFLICT,
            )
        job.refresh_from_db()
        return Response(JobRunSerializer(job, context={"request": request}).data)


class RegisteredModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Registered models with their active version and every version's metrics; train / score start jobs."""

    queryset = RegisteredModel.objects.prefetch_related(
        Prefetch("versions", queryset=ModelVersion.objects.order_by("-version"))
    ).order_by("name")
    serializer_class = RegisteredModelSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    search_fields = ["name"]

    def _start(self, request, name: str, job_action: str):
        _require(request, "ecomops.add_jobrun")
        model = self.get_object()
        serializer = ModelJobSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = model_job_start(
                name=model.name,
                action=job_action,
                parameters=serializer.validated_data["parameters"],
                requested_by=request.user,
                requested_via="api",
            )
        except UnknownModelKind as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        data = JobRunSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(request=ModelJobSerializer, responses={202: JobRunSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    @idempotent
    def train(self, request, name=None):
        """Start training this model (202 with the job)."""
        return self._start(request, name, "train")

    @extend_schema(request=ModelJobSerializer, responses={202: JobRunSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    @idempotent
    def score(self, request, name=None):
        """Start scoring with this model's active version (202 with the job)."""
        return self._start(request, name, "score")


class ModelVersionFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="registered_model__name")
    status = django_filters.ChoiceFilter(choices=ModelVersion.Status.choices)

    class Meta:
        model = ModelVersion
        fields = ["model", "status", "device"]


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every trained version with its metrics, explanation and data window; ``activate`` promotes one by hand."""

    queryset = ModelVersion.objects.select_related("registered_model", "promoted_by").order_by(
        "registered_model__name", "-version"
    )
    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilter
    ordering_fields = ["created_at", "version"]

    @extend_schema(request=ActivateSerializer, responses={200: ModelVersionSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def activate(self, request, pk=None):
        """Make this version the active one (by hand, with a note recorded with the user)."""
        _require(request, "ecomops.change_modelversion")
        version = self.get_object()
        serializer = ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_activate(version=version, user=request.user, note=serializer.validated_data["note"])
        return Response(ModelVersionSerializer(version, context={"request": request}).data)

"""Bulk upsert over the REST API: validate every row, apply the valid ones, report on each row.

A ``POST .../bulk/`` body is a JSON list of rows (at most ``bulk_max_rows``). Every row is validated by
``bulk_serializer_class``; the valid rows are applied, each atomically (a row is applied whole or not at
all), and the response lists one result per row, in request order::

    [{"index": 0, "status": "created", "id": 17, "errors": {}},
     {"index": 1, "status": "rejected", "id": null, "errors": {"lines[0].product": ["unknown SKU 'X-1'"]}}]

Status ``200`` when no row was rejected, ``207 Multi-Status`` otherwise; ``400`` when the body is not a
list or is too long (then nothing is applied). An ``Idempotency-Key`` header makes a retry safe
(see :mod:`ecomops.api.idempotency`). The caller needs both the ``add`` and the ``change`` permission.

Use in a ViewSet (the feedback app does this for reviews)::

    from ecomops.api.bulk import BulkStatus, BulkUpsertMixin, upsert_by_natural_key

    class ReviewViewSet(BulkUpsertMixin, viewsets.ModelViewSet):
        queryset = Review.objects.order_by("pk")
        bulk_serializer_class = ReviewBulkRowSerializer   # a plain Serializer validating ONE row

        def bulk_prepare(self, rows: list) -> dict:
            # optional: look up the batch's foreign keys in one query; the serializers see it
            # as self.context["bulk"], and bulk_upsert_row as ``prepared``
            ids = {row.get("order_id") for row in rows if isinstance(row, dict)}
            return {"orders": {o.external_id: o for o in Order.objects.filter(external_id__in=ids)}}

        def bulk_upsert_row(self, data: dict, *, prepared: dict, request) -> tuple[Review, BulkStatus]:
            return upsert_by_natural_key(Review, lookup={"external_id": data.pop("external_id")}, values=data)

A row fails (status ``rejected``) when its serializer is invalid, or when ``bulk_upsert_row`` raises a
DRF or Django ``ValidationError``, an ``IntegrityError`` or one of ``bulk_row_errors`` (for example the
stock ledger's ``InsufficientStock``): the row's changes are rolled back and the message reported.
Views that can apply many rows faster together override ``bulk_apply`` (see the orders API).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from .idempotency import idempotent

logger = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"


class BulkStatus(StrEnum):
    """What happened to one row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass
class RowResult:
    """The outcome of one row of a bulk request."""

    index: int
    status: BulkStatus
    id: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"index": self.index, "status": str(self.status), "id": self.id, "errors": self.errors}


@dataclass
class ValidRow:
    """A row that passed validation, waiting to be applied."""

    index: int
    data: dict


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"lines[0].product": ["reason", ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF reports a list's errors as {position: errors}
                name = f"{prefix}[{key}]"
            else:
                name = str(key) if not prefix else (prefix if key == NON_FIELD else f"{prefix}.{key}")
            for sub_key, messages in flatten_errors(value, name).items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for position, value in enumerate(detail):
            for sub_key, messages in flatten_errors(value, f"{prefix}[{position}]").items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        flat[prefix or NON_FIELD] = [str(item) for item in detail]
    elif detail not in (None, ""):
        flat[prefix or NON_FIELD] = [str(detail)]
    return flat


def errors_from_exception(error: Exception) -> dict[str, list[str]]:
    """Field errors from an exception raised while applying a row."""
    if isinstance(error, DRFValidationError):
        return flatten_errors(error.detail)
    if isinstance(error, DjangoValidationError):
        if hasattr(error, "error_dict"):
            return {key: [str(m) for m in messages] for key, messages in error.message_dict.items()}
        return {NON_FIELD: [str(m) for m in error.messages]}
    if isinstance(error, IntegrityError | DataError):
        # The message names the violated constraint, which is what the caller needs to fix the row.
        return {NON_FIELD: [f"database constraint violated: {str(error).strip().splitlines()[0]}"]}
    return {NON_FIELD: [str(error)]}


def _field_value(instance: models.Model, name: str) -> Any:
    model_field = instance._meta.get_field(name)
    return getattr(instance, model_field.attname)


def _comparable(instance: models.Model, name: str, value: Any) -> Any:
    """The value as the model field stores it (``Decimal('1.50')`` equals ``'1.5'``; an instance its pk)."""
    model_field = instance._meta.get_field(name)
    if isinstance(value, models.Model):
        return value.pk
    if value is None:
        return None
    if model_field.is_relation:
        return value
    try:
        return model_field.to_python(value)
    except DjangoValidationError:
        return value


def instance_differs(instance: models.Model, values: dict) -> bool:
    """True when setting ``values`` on ``instance`` would change a stored field."""
    return any(_field_value(instance, name) != _comparable(instance, name, value) for name, value in values.items())


def upsert_by_natural_key(
    model: type[models.Model], *, lookup: dict, values: dict, existing: models.Model | None = None
) -> tuple[models.Model, BulkStatus]:
    """Create or update the row found by its natural key; unchanged rows are not written.

    Pass ``existing`` when the batch already looked the row up (saves a query). Runs ``full_clean`` so
    model validation errors become row errors.
    """
    instance = existing
    if instance is None:
        instance = model._default_manager.select_for_update().filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
        instance.full_clean(validate_unique=False, validate_constraints=False)
        instance.save(force_insert=True)
        return instance, BulkStatus.CREATED
    if not instance_differs(instance, values):
        return instance, BulkStatus.UNCHANGED
    before = {name: getattr(instance, name) for name in values}
    try:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.full_clean(validate_unique=False, validate_constraints=False)
        instance.save()
    except Exception:
        # The row is rolled back; so is the (possibly cached) instance.
        for name, value in before.items():
            setattr(instance, name, value)
        raise
    return instance, BulkStatus.UPDATED


BULK_RESPONSE = inline_serializer(
    name="BulkRowResult",
    many=True,
    fields={
        "index": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=[s.value for s in BulkStatus]),
        "id": serializers.JSONField(allow_null=True),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


def bulk_schema(row_serializer) -> dict:
    """``extend_schema`` arguments describing a bulk endpoint (used by :class:`BulkUpsertMixin`)."""
    return dict(
        request=row_serializer(many=True),
        responses={
            200: OpenApiResponse(BULK_RESPONSE, description="Every row applied."),
            207: OpenApiResponse(BULK_RESPONSE, description="Some rows rejected; the valid ones applied."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="The body is not a list or is too long."),
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="The same Idempotency-Key is in progress."),
            422: OpenApiResponse(OpenApiTypes.OBJECT, description="Idempotency-Key reused with another body."),
        },
    )


class BulkUpsertMixin:
    """Adds ``POST <list>/bulk/`` to a ViewSet; see the module docstring."""

    bulk_serializer_class: type[serializers.Serializer] | None = None
    bulk_max_rows: int = 5000
    bulk_row_errors: tuple[type[Exception], ...] = ()

    # --- hooks -------------------------------------------------------------------------------------------
    def bulk_prepare(self, rows: list) -> dict:
        """Batch look-ups shared by all rows (serializer context ``bulk`` and ``prepared`` argument)."""
        return {}

    def bulk_fast_validate(self, row: dict, serializer: serializers.Serializer) -> Any:
        """Optional: the validated data of a plainly valid row without running every DRF field, or None.

        Must return exactly what ``serializer.run_validation(row)`` would, and None whenever in doubt (the
        serializer then validates the row and words its errors).
        """
        return None

    def bulk_upsert_row(self, data: dict, *, prepared: dict, request) -> tuple[models.Model, BulkStatus]:
        raise NotImplementedError(f"{type(self).__name__} must implement bulk_upsert_row")

    def bulk_apply(self, rows: list[ValidRow], *, prepared: dict, request) -> list[RowResult]:
        """Apply the valid rows, each in its own savepoint."""
        return [self.bulk_apply_one(row, prepared=prepared, request=request) for row in rows]

    # --- machinery ---------------------------------------------------------------------------------------
    def bulk_apply_one(self, row: ValidRow, *, prepared: dict, request) -> RowResult:
        try:
            with transaction.atomic():
                instance, outcome = self.bulk_upsert_row(dict(row.data), prepared=prepared, request=request)
        except (DRFValidationError, DjangoValidationError, IntegrityError, DataError, *self.bulk_row_errors) as error:
            return RowResult(row.index, BulkStatus.REJECTED, errors=errors_from_exception(error))
        return RowResult(row.index, outcome, id=instance.pk)

    def bulk_validate(self, rows: list, *, prepared: dict) -> tuple[list[ValidRow], list[RowResult]]:
        valid, rejected = [], []
        context = {**self.get_serializer_context(), "bulk": prepared}
        # One serializer validates every row (as ListSerializer does with its child): building one per row
        # deep-copies its fields each time, which costs more than the validation itself.
        serializer = self.bulk_serializer_class(context=context)
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                rejected.append(
                    RowResult(index, BulkStatus.REJECTED, errors={NON_FIELD: ["each row must be a JSON object"]})
                )
                continue
            try:
                data = self.bulk_fast_validate(row, serializer)
                valid.append(ValidRow(index, data if data is not None else serializer.run_validation(row)))
            except DRFValidationError as error:
                rejected.append(RowResult(index, BulkStatus.REJECTED, errors=flatten_errors(error.detail)))
        return valid, rejected

    def bulk_check_permissions(self, request) -> None:
        model = self.get_queryset().model
        opts = model._meta
        needed = [f"{opts.app_label}.add_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"]
        if not request.user.has_perms(needed):
            raise PermissionDenied(f"bulk upsert needs the permissions {', '.join(needed)}")

    def bulk_process(self, rows: Iterable, *, request) -> Response:
        if not isinstance(rows, list):
            return Response({"detail": "the body must be a JSON list of rows"}, status=status.HTTP_400_BAD_REQUEST)
        if len(rows) > self.bulk_max_rows:
            return Response(
                {"detail": f"at most {self.bulk_max_rows} rows per request, got {len(rows)}; split the batch"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        prepared = self.bulk_prepare(rows)
        valid, results = self.bulk_validate(rows, prepared=prepared)
        results.extend(self.bulk_apply(valid, prepared=prepared, request=request))
        results.sort(key=lambda result: result.index)
        rejected = sum(result.status == BulkStatus.REJECTED for result in results)
        logger.info("bulk %s: %d rows, %d rejected", self.get_queryset().model._meta.label, len(results), rejected)
        return Response(
            [result.as_dict() for result in results],
            status=status.HTTP_207_MULTI_STATUS if rejected else status.HTTP_200_OK,
        )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.bulk_serializer_class is None:
            return

        # Each ViewSet gets its own action so the schema shows its row serializer.
        @extend_schema(**bulk_schema(cls.bulk_serializer_class), summary="Bulk upsert (per-row results)")
        # pagination_class=None: the per-row results are one plain list (the schema must not wrap it in a page).
        @action(detail=False, methods=["post"], url_path="bulk", url_name="bulk", pagination_class=None)
        @idempotent
        def bulk(self, request, *args, **kwargs):
            self.bulk_check_permissions(request)
            return self.bulk_process(request.data, request=request)

        cls.bulk = bulk

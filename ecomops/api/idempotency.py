"""``Idempotency-Key`` for POST endpoints: a retried request returns the first response, applied once.

Decorate a ViewSet method or ``@action`` (innermost, under ``@action``)::

    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request): ...

or mix :class:`IdempotentCreateMixin` into a ViewSet to cover ``create``.

With the header present the request runs in one transaction that first inserts the
:class:`~ecomops.models.IdempotencyRecord` (user, key, method, path, body hash) and finally stores the
response in it, so the effect and the record commit together:

- a retry after the first request committed gets the stored response (status and body) unchanged, with
  the header ``Idempotent-Replayed: true``;
- a concurrent request with the same key waits on the record's unique index (PostgreSQL) or on the
  database write lock (SQLite) and then replays the first response; should it see the record before
  the response is stored, it gets ``409 Conflict`` (retry later);
- the same key with a different body gets ``422 Unprocessable Entity``;
- a request that fails with a server error stores nothing (rolled back), so it can be retried.

Without the header, the view runs as usual.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ecomops.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 128


def request_fingerprint(request) -> str:
    """sha256 of the method, path and canonical JSON body of a request."""
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    payload = f"{request.method}\n{request.path}\n{body}".encode()
    return hashlib.sha256(payload).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        return Response(
            {
                "detail": f"{HEADER} {record.key!r} was already used with a different request body; "
                "use a new key for a new request"
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record.status_code is None:
        return Response(
            {"detail": f"a request with {HEADER} {record.key!r} is still in progress; retry later"},
            status=status.HTTP_409_CONFLICT,
        )
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


class _ServerError(Exception):
    """Carries a 5xx response out of the transaction so that it rolls back."""

    def __init__(self, response):
        self.response = response


def idempotent(view_method):
    """Make a POST view method safe to retry with an ``Idempotency-Key`` header (see module docstring)."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return Response(
                {"detail": f"{HEADER} must be at most {MAX_KEY_LENGTH} characters, got {len(key)}"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        request_hash = request_fingerprint(request)
        identity = {"user": request.user, "key": key, "method": request.method, "path": request.path[:255]}
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(**identity, request_hash=request_hash)
                except IntegrityError:
                    # Another request holds (or held) this key; on PostgreSQL the insert above waited for it.
                    return _replay(IdempotencyRecord.objects.get(**identity), request_hash)
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 500:
                    raise _ServerError(response)
                # Rendered to plain JSON types now so the replay is byte-for-byte the same data.
                body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
                record.status_code = response.status_code
                record.response_body = body
                record.save(update_fields=["status_code", "response_body"])
                return response
        except _ServerError as error:
            return error.response

    return wrapper


class IdempotentCreateMixin:
    """Honour ``Idempotency-Key`` on a ViewSet's ``create``."""

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

"""Bulk upsert by natural key that counts only real changes, one transaction per batch.

``upsert`` compares every incoming row with what is stored before writing, so a second import of the
same file writes nothing and reports 0 created, 0 updated. New and changed rows of a batch are written
in one transaction: with ``INSERT ... ON CONFLICT DO UPDATE`` (``bulk_create(update_conflicts=True)``)
where the natural key is a plain unique constraint, else ``bulk_create`` + ``bulk_update`` (partial
unique constraints cannot be named in ``ON CONFLICT`` by Django). If a batch fails in the database
(a constraint the parser did not foresee, a concurrent writer), it is rolled back and retried row by row,
so only the offending rows are rejected, with the database's reason.

A field named in ``Incoming.keep_stored`` had no usable value in the input (a bad optional value the
parser left out): a new row is written without it, an existing row keeps what is stored (the field is
neither compared nor overwritten for that row), so bad input never erases a value that was valid.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from ecomops.bulk import bulk_insert

from .report import TableCount

BATCH_SIZE = 2000
LOOKUP_CHUNK = 900
MAX_GROUPS = 60


@dataclass
class Incoming:
    """One row to write: its natural key values and field values (foreign keys as ``<name>_id``).

    ``keep_stored``: fields whose value the input did not give (a bad optional value, left out): their
    value in ``values`` is only used for a new row; an existing row keeps its stored one. A name
    ``field.key`` is one key of a JSON object field (a Dominick's store's demographic in ``attributes``).
    """

    line: int
    values: dict[str, Any]
    keep_stored: frozenset[str] = frozenset()


def _keep_stored(row: Incoming, current: dict) -> None:
    """Put the stored value of each of ``row.keep_stored`` into ``row.values`` (the row exists: ``current``)."""
    for name in row.keep_stored:
        field, _, key = name.partition(".")
        if field not in current:
            continue  # not compared nor updated (written on create only)
        if not key:
            row.values[field] = current[field]
            continue
        merged = dict(row.values.get(field) or {})
        stored = current[field]
        if isinstance(stored, dict) and key in stored:
            merged[key] = stored[key]
        else:
            merged.pop(key, None)
        row.values[field] = merged


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_rows(
    model: type[models.Model],
    key: Sequence[str],
    fields: Sequence[str],
    keys: Iterable[tuple],
    where: dict | None = None,
):
    """Stored rows whose key is among ``keys``: ``{key tuple: {"pk": ..., field: value}}`` (lowest pk wins).

    ``where`` narrows the lookup (``{"location__isnull": True}`` for rows that hold everywhere).
    """
    keys = sorted(set(keys), key=lambda k: tuple(str(v) for v in k))
    found: dict[tuple, dict] = {}
    for part in chunks(keys, LOOKUP_CHUNK):
        wanted = set(part)
        groups: dict[tuple, set] = {}
        for k in part:
            groups.setdefault(k[:-1], set()).add(k[-1])
        if len(key) > 1 and len(groups) <= MAX_GROUPS:
            # Few leading-key groups (a store-brand's weeks): ask for exactly those rows.
            condition = Q()
            for head, lasts in groups.items():
                condition |= Q(**dict(zip(key[:-1], head, strict=True)), **{f"{key[-1]}__in": lasts})
            queryset = model._default_manager.filter(condition)
        else:
            queryset = model._default_manager.filter(**{f"{key[0]}__in": {k[0] for k in part}})
        if where:
            queryset = queryset.filter(**where)
        for values in queryset.order_by("-pk").values("pk", *key, *fields):
            k = tuple(values[name] for name in key)
            if k in wanted:
                found[k] = values
    return found


def pk_map(model: type[models.Model], field: str, values: Iterable) -> dict:
    """``{value: pk}`` for the rows of ``model`` whose ``field`` is among ``values``."""
    result = {}
    for part in chunks(list(set(values)), LOOKUP_CHUNK):
        result.update(model._default_manager.filter(**{f"{field}__in": part}).values_list(field, "pk"))
    return result


def upsert(
    *,
    model: type[models.Model],
    rows: Sequence[Incoming],
    key: Sequence[str],
    fields: Sequence[str],
    count: TableCount,
    on_error: Callable[[Incoming, str], None],
    conflict_upsert: bool = True,
    batch_size: int = BATCH_SIZE,
    where: dict | None = None,
) -> None:
    """Insert missing rows and update changed ones (see the module docstring); counts go to ``count``.

    Values in a row beyond ``key`` and ``fields`` are written when the row is created, never compared or
    updated (e.g. a product's seller when the items file is not there to derive it). An existing row's
    ``keep_stored`` fields are set to their stored values in ``row.values`` (in place, so that rows built
    from it afterwards, an order's shipment, see what is stored) before comparing and writing.
    """
    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    for batch in chunks(list(rows), batch_size):
        new: list[Incoming] = []
        changed: list[tuple[Incoming, int]] = []
        unchanged = 0
        compared = False
        try:
            # Compare and write in one transaction (on SQLite it holds the write lock from the start).
            with transaction.atomic():
                stored = existing_rows(model, key, fields, (tuple(r.values[k] for k in key) for r in batch), where)
                for row in batch:
                    current = stored.get(tuple(row.values[name] for name in key))
                    if current is None:
                        new.append(row)
                        continue
                    if row.keep_stored:
                        _keep_stored(row, current)
                    if any(not _same(current[f], row.values[f]) for f in fields):
                        changed.append((row, current["pk"]))
                    else:
                        unchanged += 1
                compared = True
                if new or changed:
                    _write(model, new, changed, key, fields, conflict_upsert, has_updated_at)
        except DatabaseError:
            if not compared:
                raise
            created, updated = _write_one_by_one(model, new, changed, key, fields, has_updated_at, on_error)
            count.created += created
            count.updated += updated
        else:
            count.created += len(new)
            count.updated += len(changed)
        count.unchanged += unchanged


@contextmanager
def import_lock(name: str = "ingest"):
    """One import at a time: a PostgreSQL advisory lock for the whole run (SQLite serialises writers itself).

    Without it two imports could both find a row missing and both insert it where the natural key has no
    unique constraint the database can enforce (shipments).
    """
    if connection.vendor != "postgresql":
        yield
        return
    lock_id = zlib.crc32(f"ecomops:{name}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def _instance(model, row: Incoming, pk=None):
    obj = model(**row.values)
    if pk is not None:
        obj.pk = pk
    return obj


def _raw_insert(model, rows: Sequence[Incoming]) -> None:
    """INSERT the new rows without model instances (``ecomops.bulk.bulk_insert``: COPY / executemany)."""
    bulk_insert(model, (row.values for row in rows), batch_size=max(len(rows), 1))


def _write(model, new, changed, key, fields, conflict_upsert, has_updated_at) -> None:
    update_fields = list(fields) + (["updated_at"] if has_updated_at else [])
    if new:
        _raw_insert(model, new)
    if changed and conflict_upsert and update_fields:
        objs = [_instance(model, r) for r, _ in changed]
        model._default_manager.bulk_create(
            objs, update_conflicts=True, unique_fields=list(key), update_fields=update_fields
        )
        return
    if changed:
        now = timezone.now()
        objs = []
        for r, pk in changed:
            obj = _instance(model, r, pk)
            if has_updated_at:
                obj.updated_at = now
            objs.append(obj)
        model._default_manager.bulk_update(objs, update_fields)


def _write_one_by_one(model, new, changed, key, fields, has_updated_at, on_error) -> tuple[int, int]:
    created = updated = 0
    update_fields = list(fields) + (["updated_at"] if has_updated_at else [])
    for row, pk in [(r, None) for r in new] + list(changed):
        try:
            with transaction.atomic():
                obj = _instance(model, row, pk)
                if pk is None:
                    obj.save(force_insert=True)
                    created += 1
                else:
                    obj.save(update_fields=update_fields)
                    updated += 1
        except DatabaseError as exc:
            on_error(row, "rejected by the database: " + (str(exc).strip().splitlines() or ["error"])[0])
    return created, updated

"""Fast INSERT of many plain rows: COPY on PostgreSQL, one ``executemany`` elsewhere.

``bulk_create`` builds a model instance per row and, with ``DEBUG`` on (the development default, under which
management commands run), Django's debug cursor formats every parameter of every batch into the query log.
For the imports and for the forecast and score tables (a 15x Olist copy: 1.5M demand forecast rows) that is
most of the time. Rows here are mappings of field ``attname`` to value; values are prepared as the ORM would
(``get_db_prep_save``) except for types the drivers take as they are. No signals, no ``save()``: only for
tables whose rows are plain facts written by one service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

# Field types whose Python values the database drivers take as they are.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.BooleanField,
    models.ForeignKey,
)


def bulk_insert(model: type[models.Model], rows: Iterable[Mapping[str, Any]], *, batch_size: int = 20_000) -> int:
    """INSERT ``rows`` (``{attname: value}``) into ``model``'s table; returns how many were written.

    Fields a row does not give take their default, ``auto_now`` / ``auto_now_add`` fields the current time;
    an auto primary key is the database's. Database errors come back as Django's (``IntegrityError``...).
    Runs in the caller's transaction; wrap it in ``transaction.atomic`` for all-or-nothing.
    """
    connection = connections[router.db_for_write(model)]
    columns, getters = _columns(model, connection)
    table = connection.ops.quote_name(model._meta.db_table)
    written = 0
    rows = iter(rows)
    with connection.cursor() as cursor:
        raw = getattr(cursor, "cursor", None)
        while batch := list(islice(rows, batch_size)):
            params = []
            for values in batch:
                if "pk" in values or "id" in values:
                    raise ValueError("bulk_insert takes no primary key")
                params.append([get(values) for get in getters])
            if connection.vendor == "postgresql" and hasattr(raw, "copy"):
                # The driver's cursor bypasses Django's error translation: put it back (IntegrityError etc.).
                with (
                    connection.wrap_database_errors,
                    raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
                ):
                    for values in params:
                        copy.write_row(values)
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", params)
            written += len(params)
    return written


def bulk_update_rows(
    model: type[models.Model], rows: Iterable[Mapping[str, Any]], fields: list[str], *, batch_size: int = 20_000
) -> int:
    """UPDATE ``fields`` (attnames) of existing rows, one ``UPDATE ... WHERE pk = %s`` per row sent by
    ``executemany``: ``bulk_update``'s result without its ``CASE WHEN`` per row and field (which the ORM builds
    and resolves in Python, and the debug cursor formats). Each row maps ``"pk"`` and every field to its value,
    prepared as in ``bulk_insert``; ``auto_now`` fields named in ``fields`` take the value the row gives, as
    ``bulk_update`` does. Returns how many rows were sent. Runs in the caller's transaction."""
    connection = connections[router.db_for_write(model)]
    opts = model._meta
    targets = [opts.get_field(name) for name in fields]
    if not targets or any(not f.concrete or f.primary_key for f in targets):
        raise ValueError("bulk_update_rows: give concrete, non-primary-key fields")
    getters = [_getter(field, connection, None) for field in targets]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(opts.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in targets)} "
        f"WHERE {quote(opts.pk.column)} = %s"
    )
    pk_prep = opts.pk.get_db_prep_save
    written = 0
    rows = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, batch_size)):
            cursor.executemany(
                sql, [[get(values) for get in getters] + [pk_prep(values["pk"], connection)] for values in batch]
            )
            written += len(batch)
    return written


def _columns(model: type[models.Model], connection) -> tuple[list[str], list]:
    now = timezone.now()
    columns, getters = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField):
            continue
        columns.append(connection.ops.quote_name(field.column))
        getters.append(_getter(field, connection, now))
    return columns, getters


def _getter(field: models.Field, connection, now):
    """The prepared value of ``field`` from a row mapping; ``now`` (when given) for ``auto_now(_add)`` fields."""
    name = field.attname
    default = field.get_default()
    if now is not None and (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)):
        constant = field.get_db_prep_save(now, connection)
        return lambda values, c=constant: c
    if isinstance(field, _PLAIN_FIELDS) and not field.choices:
        return lambda values, n=name, d=default: values.get(n, d)
    if isinstance(field, _PLAIN_FIELDS):
        return lambda values, n=name, d=default: str(v) if (v := values.get(n, d)) is not None else None
    return lambda values, n=name, d=default, f=field: f.get_db_prep_save(values.get(n, d), connection)

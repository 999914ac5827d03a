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


def _columns(model: type[models.Model], connection) -> tuple[list[str], list]:
    now = timezone.now()
    columns, getters = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField):
            continue
        columns.append(connection.ops.quote_name(field.column))
        name = field.attname
        default = field.get_default()
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constant = field.get_db_prep_save(now, connection)
            getters.append(lambda values, c=constant: c)
        elif isinstance(field, _PLAIN_FIELDS) and not field.choices:
            getters.append(lambda values, n=name, d=default: values.get(n, d))
        elif isinstance(field, _PLAIN_FIELDS):
            getters.append(lambda values, n=name, d=default: str(v) if (v := values.get(n, d)) is not None else None)
        else:
            getters.append(lambda values, n=name, d=default, f=field: f.get_db_prep_save(values.get(n, d), connection))
    return columns, getters

"""Reading CSV files for import: encoding, required columns, and per-row field parsing with reasons.

``read_csv`` turns a file into a :class:`CsvTable` (or records a file-level error in the report and
returns ``None``: missing file, missing columns, undecodable bytes). Each data row is then parsed through
a :class:`Row`, whose typed getters never raise: a bad value records ``(column, reason)`` and returns
``None``, so one pass collects every problem of the row. A bad value in a required column is an error
that rejects the row; a bad value in an optional one (``required=False``) is a warning: the row is kept
without that value (``None``, or ``""`` for text), so one stray date does not lose an order and everything
that hangs on it. Such a value counts as not given: ``row.keep_stored({column: field})`` names the fields
that an existing row keeps as stored (``Incoming.keep_stored``), so a re-import never erases a good value.
``row.report_into(report)`` files either and says whether the row is kept.

Line numbers are the physical line where the record starts (header = line 1), so they stay right for
quoted fields that span several lines (Olist review texts do).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone

from .report import ImportReport

ENCODINGS = ("auto", "utf-8", "latin-1")
DATETIME_HINT = "expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD"


class ImportFileError(Exception):
    """A whole file cannot be imported (missing, wrong columns, undecodable); nothing of it is written."""


@dataclass
class CsvTable:
    """A decoded CSV file: its name (as reported), columns, and ``(line, {column: text})`` rows."""

    name: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    encoding: str = "utf-8"


def _first_bad_utf8_line(raw: bytes, exc: UnicodeDecodeError) -> int:
    return raw.count(b"\n", 0, exc.start) + 1


def decode(raw: bytes, *, name: str, encoding: str = "auto") -> tuple[str, str, str]:
    """Return ``(text, encoding used, note)``. UTF-8 first; latin-1 only when allowed, and then noted."""
    if encoding not in ENCODINGS:
        raise ImportFileError(f"unknown encoding {encoding!r} (use one of {', '.join(ENCODINGS)})")
    if encoding == "latin-1":
        return raw.decode("latin-1"), "latin-1", ""
    try:
        return raw.decode("utf-8-sig"), "utf-8", ""
    except UnicodeDecodeError as exc:
        line = _first_bad_utf8_line(raw, exc)
        where = f"byte 0x{raw[exc.start]:02x} at line {line} (byte offset {exc.start})"
        if encoding == "utf-8":
            raise ImportFileError(f"not valid UTF-8: {where}; re-save the file as UTF-8 or pass --encoding latin-1")
        note = f"not valid UTF-8 ({where}); read as latin-1 instead, check accented text"
        return raw.decode("latin-1"), "latin-1", note


def read_csv(
    path: Path,
    *,
    required: Sequence[str],
    report: ImportReport,
    name: str | None = None,
    encoding: str = "auto",
) -> CsvTable | None:
    """Read ``path`` (plain or ``.gz``) into a CsvTable, or record why it cannot be read and return None.

    Rows with the wrong number of fields are rejected here (field ``-``); the others are returned as text.
    """
    name = name or path.name
    file_report = report.file(name)
    try:
        if not path.exists():
            raise ImportFileError(f"file not found: {path}")
        raw = path.read_bytes()
        if path.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise ImportFileError(f"not a readable gzip file: {exc}")
        text, used, note = decode(raw, name=name, encoding=encoding)
        if note:
            file_report.notes.append(note)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError("the file is empty (no header line)")
        except csv.Error as exc:
            raise ImportFileError(f"the header line is not valid CSV: {exc}")
        columns = [c.strip() for c in header]
        missing = [c for c in required if c not in columns]
        if missing:
            raise ImportFileError(
                f"missing column(s): {', '.join(missing)} (found: {', '.join(columns) or 'none'}); "
                "nothing of this file was imported"
            )
        duplicated = sorted({c for c in columns if columns.count(c) > 1 and c in required})
        if duplicated:
            raise ImportFileError(f"column(s) appear more than once: {', '.join(duplicated)}")
    except ImportFileError as exc:
        file_report.error = str(exc)
        return None

    table = CsvTable(name=name, columns=columns, encoding=used)
    width = len(columns)
    previous_end = reader.line_num
    for values in _records(reader, table, report):
        line = previous_end + 1
        previous_end = reader.line_num
        if values is None:  # a csv.Error already filed
            continue
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        file_report.read += 1
        if len(values) != width:
            file_report.rejected += 1
            report.reject(file=name, line=line, field="-", reason=f"has {len(values)} fields, the header has {width}")
            continue
        table.rows.append((line, dict(zip(columns, values, strict=True))))
    return table


def _records(reader, table: CsvTable, report: ImportReport) -> Iterator[list[str] | None]:
    while True:
        start = reader.line_num + 1
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            file_report = report.file(table.name)
            file_report.read += 1
            file_report.rejected += 1
            report.reject(file=table.name, line=start, field="-", reason=f"not valid CSV: {exc}")
            yield None


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


class Row:
    """Typed access to one CSV row; problems are collected as ``(column, reason)`` instead of raised.

    Errors (required columns, keys, references: ``row.error``) reject the row; warnings (a bad optional
    value, which the getter hands back as empty: ``row.warn``) keep it without that value.
    """

    def __init__(self, table: CsvTable, line: int, values: dict[str, str]):
        self.table = table
        self.line = line
        self.values = values
        self._problems: list[tuple[str, str, bool]] = []  # (column, reason, fatal), in the order found

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(column, reason) for column, reason, fatal in self._problems if fatal]

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return [(column, reason) for column, reason, fatal in self._problems if not fatal]

    @property
    def cleared(self) -> set[str]:
        """Columns whose (optional) value was bad and left out: the getter handed back an empty value."""
        return {column for column, _, fatal in self._problems if not fatal}

    def keep_stored(self, fields: Mapping[str, str | Iterable[str]]) -> frozenset[str]:
        """The model fields fed by the cleared columns, for ``Incoming.keep_stored``.

        ``fields``: ``{column: field name, or several}`` for every column that can be cleared. A cleared
        column gave no value: a new row is written without it, an existing row keeps its stored one.
        """
        names: set[str] = set()
        for column in self.cleared:
            if column not in fields:
                raise KeyError(f"{self.table.name}: no field is named for the optional column {column!r}")
            target = fields[column]
            names.update([target] if isinstance(target, str) else target)
        return frozenset(names)

    @property
    def ok(self) -> bool:
        """No error: the row can be imported (possibly without some optional values, see ``warnings``)."""
        return not any(fatal for _, _, fatal in self._problems)

    def error(self, column: str, reason: str) -> None:
        self._problems.append((column, reason, True))

    def warn(self, column: str, reason: str) -> None:
        """``column``'s value is bad but optional: the row is kept without it (a stored row keeps its own)."""
        self._problems.append((column, reason, False))

    def _bad(self, column: str, reason: str, required: bool) -> None:
        if required:
            self.error(column, reason)
        else:
            self.warn(column, reason)

    def raw(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def reject_into(self, report: ImportReport) -> None:
        """File the row as rejected; every problem found is a reason (a warning too: nothing was kept)."""
        report.file(self.table.name).rejected += 1
        for column, reason, _ in self._problems:
            report.reject(file=self.table.name, line=self.line, field=column, reason=reason)

    def keep_into(self, report: ImportReport) -> None:
        """File the row as kept: each bad optional value it was imported without becomes a warning."""
        warnings = self.warnings
        if not warnings:
            return
        report.file(self.table.name).cleared += 1
        for column, reason in warnings:
            report.warn(file=self.table.name, line=self.line, field=column, reason=reason)

    def report_into(self, report: ImportReport) -> bool:
        """Reject the row (False) or keep it with its warnings (True); callers skip the row on False."""
        if not self.ok:
            self.reject_into(report)
            return False
        self.keep_into(report)
        return True

    def _missing(self, column: str, required: bool) -> bool:
        if self.raw(column) == "":
            if required:
                self.error(column, "is required")
            return True
        return False

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = self.raw(column)
        if required and not value:
            self.error(column, "is required")
        if max_length is not None and len(value) > max_length:
            self._bad(column, f"is {len(value)} characters long, at most {max_length} allowed", required)
            return value[:max_length] if required else ""
        return value

    def number(self, column: str, *, required: bool = True, min_value: float | None = None, max_value=None):
        if self._missing(column, required):
            return None
        text = self.raw(column)
        try:
            value = float(text)
        except ValueError:
            self._bad(column, f"not a number: {text!r}", required)
            return None
        if not math.isfinite(value):
            self._bad(column, f"not a finite number: {text!r}", required)
            return None
        if min_value is not None and value < min_value:
            self._bad(column, f"{text} is below the minimum {min_value}", required)
            return None
        if max_value is not None and value > max_value:
            self._bad(column, f"{text} is above the maximum {max_value}", required)
            return None
        return value

    def integer(self, column: str, *, required: bool = True, min_value: int | None = None, max_value=None):
        if self._missing(column, required):
            return None
        text = self.raw(column)
        try:
            value = int(text)
        except ValueError:
            try:
                number = Decimal(text)  # "7150.0" is a whole number too
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite() or number != number.to_integral_value():
                self._bad(column, f"not a whole number: {text!r}", required)
                return None
            if number.adjusted() >= 19:  # no integer column is that wide; int() of 1e999999999 would hang
                self._bad(column, f"{text[:40]!r} is too large a number", required)
                return None
            value = int(number)
        if min_value is not None and value < min_value:
            self._bad(column, f"{value} is below the minimum {min_value}", required)
            return None
        if max_value is not None and value > max_value:
            self._bad(column, f"{value} is above the maximum {max_value}", required)
            return None
        return value

    def decimal(self, column: str, *, places: int = 2, required: bool = True, min_value: Decimal | None = None):
        if self._missing(column, required):
            return None
        text = self.raw(column)
        try:
            value = Decimal(text)
        except InvalidOperation:
            self._bad(column, f"not a number: {text!r}", required)
            return None
        if not value.is_finite():
            self._bad(column, f"not a finite number: {text!r}", required)
            return None
        if value.adjusted() >= 10:  # checked before quantize(), which raises for 1e999999999
            self._bad(column, f"{text[:40]} is too large", required)
            return None
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if min_value is not None and value < min_value:
            self._bad(column, f"{text} is below the minimum {min_value}", required)
            return None
        if abs(value) >= Decimal(10) ** 10:
            self._bad(column, f"{text} is too large", required)
            return None
        return value

    def datetime(self, column: str, *, required: bool = False) -> datetime | None:
        if self._missing(column, required):
            return None
        text = self.raw(column)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self._bad(column, f"not a date/time: {text!r} ({DATETIME_HINT})", required)
            return None
        if not 1900 <= value.year <= 2200:
            self._bad(column, f"year {value.year} is out of range: {text!r}", required)
            return None
        return _aware(value)

    def date(self, column: str, *, required: bool = False) -> date | None:
        value = self.datetime(column, required=required)
        if value is None:
            return None
        return timezone.localtime(value, timezone.get_default_timezone()).date()

    def choice(self, column: str, choices: Sequence[str], *, required: bool = True) -> str | None:
        if self._missing(column, required):
            return None
        value = self.raw(column)
        if value not in choices:
            self._bad(column, f"unknown value {value!r} (expected one of: {', '.join(choices)})", required)
            return None
        return value


class DuplicateTracker:
    """Remembers the line where each key was first seen in a file; a repeat is reported on its row."""

    def __init__(self) -> None:
        self.first_line: dict = {}

    def check(self, row: Row, key, *, column: str, label: str) -> bool:
        """True when ``key`` is new; otherwise records a reason on ``row`` and returns False."""
        first = self.first_line.setdefault(key, row.line)
        if first != row.line:
            row.error(column, f"duplicate {label} (first seen at line {first}); only the first is imported")
            return False
        return True

"""Importing labelled reviews from other channels (CSV/TSV, not tied to orders): training data for sentiment."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ecomops.registry import active_model_version

from .ml.language import detect_language, language_prior
from .ml.sentiment import NEGATIVE, NEUTRAL, POSITIVE, compose_text
from .models import Review
from .selectors import review_language_counts
from .services import SENTIMENT_SPEC, reviews_schedule_analysis

ENCODINGS = ("utf-8", "latin-1")
# tab-separated files (UCI, VADER) hold quotation marks as text: read as CSV quoting, a sentence that starts with
# one swallowed the lines up to the next (748 of the 1,000 IMDB sentences were read, without a word of warning)
QUOTINGS = ("auto", "csv", "none")
_UNDECODED = re.compile(r"[\udc80-\udcff]")


@dataclass
class TextTable:
    """A decoded CSV/TSV file: its columns, ``(line, {column: value})`` rows, and the rows it could not read.

    Lines are the physical line where a record starts (header = line 1), so they stay right for quoted
    texts that span several lines."""

    name: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


def text_table_read(
    *,
    source: str | Path | io.TextIOBase,
    delimiter: str = "",
    encoding: str = "utf-8",
    header: bool = True,
    quoting: str = "auto",
) -> TextTable:
    """Read a delimited text file row by row; a row that cannot be read is rejected with its line and reason,
    the others are kept. Raises ``ValueError`` only for the whole file (no header, unknown encoding).

    Bytes that are not valid UTF-8 reject only the rows that hold them (``encoding="latin-1"`` reads any byte);
    a UTF-8 byte-order mark, CRLF line ends and quoted multi-line fields are read as they should be.
    ``header=False``: the file has no header line; columns are named by position (``"1"``, ``"2"``, ...).
    ``quoting``: ``csv`` (double quotes enclose a field), ``none`` (quotes are text), ``auto`` (none for tabs).
    The delimiter, when not given, is a tab when the header line has more tabs than commas."""
    name = Path(source).name if isinstance(source, str | Path) else Path(getattr(source, "name", "input")).name
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    if isinstance(source, str | Path):
        raw = Path(source).read_bytes()
        content = raw.decode("latin-1") if encoding == "latin-1" else raw.decode("utf-8-sig", "surrogateescape")
    else:
        content = source.read().removeprefix("\ufeff")
    if not delimiter:
        sample = content.partition("\n")[0] if header else content[:4096]
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    if quoting not in QUOTINGS:
        raise ValueError(f"unknown quoting {quoting!r}; use one of {', '.join(QUOTINGS)}")
    if quoting == "auto":
        quoting = "none" if delimiter == "\t" else "csv"
    reader = csv.reader(
        io.StringIO(content, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL,
    )
    if header:
        try:
            columns = [c.strip() for c in next(reader)]
        except StopIteration:
            raise ValueError(f"{name}: the file is empty (no header line)") from None
        except csv.Error as exc:
            raise ValueError(f"{name}: the header line is not valid CSV: {exc}") from None
    else:
        columns = []
    if _UNDECODED.search("".join(columns)):
        raise ValueError(
            f"{name}: the header line is not valid UTF-8; save the file as UTF-8 or pass --encoding latin-1"
        )
    table = TextTable(name=name, columns=columns)
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            table.rejected.append((line, "-", f"not valid CSV: {exc}"))
            continue
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line
        names = columns or [str(i + 1) for i in range(len(values))]
        if columns and len(values) > len(columns) and not any(v.strip() for v in values[len(columns) :]):
            values = values[: len(columns)]  # trailing empty fields (a spreadsheet's extra separators)
        if columns and len(values) != len(columns):
            table.rejected.append((line, "-", f"has {len(values)} field(s), the header has {len(columns)}"))
            continue
        bad = next((c for c, v in zip(names, values, strict=True) if _UNDECODED.search(v)), None)
        if bad is not None:
            byte = ord(_UNDECODED.search(values[names.index(bad)]).group()) - 0xDC00
            table.rejected.append(
                (line, bad, f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8 or pass --encoding latin-1")
            )
            continue
        table.rows.append((line, dict(zip(names, values, strict=True))))
    return table


class LabelStyle:
    AUTO, BINARY, STARS, TEXT, SIGNED = "auto", "binary", "stars", "text", "signed"


_TEXT_LABELS = {
    "negative": NEGATIVE,
    "neg": NEGATIVE,
    "neutral": NEUTRAL,
    "neu": NEUTRAL,
    "positive": POSITIVE,
    "pos": POSITIVE,
    "negativo": NEGATIVE,
    "neutro": NEUTRAL,
    "positivo": POSITIVE,
}


def _numeric(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _real(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def label_style_detect(values: list[str]) -> str:
    """Numeric labels: signed scores when a negative number occurs (-4..4 mean ratings: below 0 negative,
    0 neutral, above 0 positive), binary when a 0 occurs (stars have none) or only 1s occur, stars when 2-5
    occur; otherwise text (negative/neutral/positive). Rows that do not fit the detected style are rejected."""
    cleaned = [v.strip().lower() for v in values if v and v.strip()]
    reals = [n for n in (_real(v) for v in cleaned) if n is not None]
    if cleaned and len(reals) * 2 >= len(cleaned) and min(reals) < 0:
        return LabelStyle.SIGNED
    numbers = [n for n in (_numeric(v) for v in cleaned) if n is not None]
    if not cleaned or len(numbers) * 2 < len(cleaned):
        return LabelStyle.TEXT
    if 0 in numbers or set(numbers) <= {1}:
        return LabelStyle.BINARY
    return LabelStyle.STARS


def label_map(value: str, style: str) -> tuple[str, int | None]:
    """(sentiment label, 1-5 score or None); raises ValueError naming what was expected."""
    value = (value or "").strip().lower()
    if not value:
        raise ValueError("label is empty")
    if style == LabelStyle.BINARY:
        number = _numeric(value)
        if number not in (0, 1):
            raise ValueError(f"label {value!r} is not 0 or 1")
        return (POSITIVE if number == 1 else NEGATIVE), None
    if style == LabelStyle.STARS:
        number = _numeric(value)
        if number is None or not 1 <= number <= 5:
            raise ValueError(f"label {value!r} is not a 1-5 star rating")
        return (NEGATIVE if number <= 2 else NEUTRAL if number == 3 else POSITIVE), number
    if style == LabelStyle.SIGNED:
        number = _real(value)
        if number is None:
            raise ValueError(f"label {value!r} is not a signed score (below 0 negative, 0 neutral, above 0 positive)")
        return (NEGATIVE if number < 0 else NEUTRAL if number == 0 else POSITIVE), None
    if value not in _TEXT_LABELS:
        raise ValueError(f"label {value!r} is not negative, neutral or positive")
    return _TEXT_LABELS[value], None


@dataclass
class ReviewImportReport:
    """What ``import_reviews`` did: counts and every rejected row (line number, column, reason)."""

    file: str
    label_style: str = ""
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.file}: read {self.read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)} (labels: {self.label_style})"
        )


def reviews_import_csv(
    *,
    source: str | Path | io.TextIOBase,
    language: str,
    text_column: str,
    label_column: str,
    title_column: str = "",
    id_column: str = "",
    date_column: str = "",
    channel: str = "",
    label_style: str = LabelStyle.AUTO,
    delimiter: str = "",
    encoding: str = "utf-8",
    header: bool = True,
    quoting: str = "auto",
) -> ReviewImportReport:
    """Import labelled reviews from another channel (not tied to orders), idempotently.

    The natural key is (channel, id column value) or, without an id column, (channel, sha1 of the text).
    Rows with a missing text, an unreadable label, bytes that are not UTF-8 or the wrong number of fields are
    rejected with their line number; valid rows are written in one transaction and queued for scoring after
    commit. ``header=False``: the file has no header line and columns are given by position (1, 2, ...).
    """
    if language and len(language) > 8:
        raise ValueError(f"--language {language!r} is not a language code (pt, en, zh, ...)")
    table = text_table_read(source=source, delimiter=delimiter, encoding=encoding, header=header, quoting=quoting)
    name = table.name
    channel = channel or Path(name).stem[:64]
    columns = table.columns
    wanted = [c for c in (text_column, label_column, title_column, id_column, date_column) if c]
    if header:
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ValueError(f"{name}: column(s) {missing} not in the header {columns}")
    else:
        positions = [c for c in wanted if not c.isdigit() or int(c) < 1]
        if positions:
            raise ValueError(f"{name}: without a header, columns are positions (1, 2, ...), not {positions}")
    rows = table.rows
    # without --language each text is detected, short ones leaning to the languages of the stored reviews
    prior = None if language else language_prior(review_language_counts())
    report = ReviewImportReport(file=name, read=len(rows) + len(table.rejected))
    report.rejected.extend(table.rejected)
    style = (
        label_style
        if label_style != LabelStyle.AUTO
        else label_style_detect([r.get(label_column) or "" for _, r in rows])
    )
    report.label_style = style
    incoming: dict[str, dict] = {}
    for line, row in rows:
        text = (row.get(text_column) or "").strip()
        title = (row.get(title_column) or "").strip() if title_column else ""
        if not text and not title:
            report.rejected.append((line, text_column, "text is empty"))
            continue
        try:
            label, score = label_map(row.get(label_column) or "", style)
        except ValueError as exc:
            report.rejected.append((line, label_column, str(exc)))
            continue
        external_id = (row.get(id_column) or "").strip() if id_column else ""
        if id_column and not external_id:
            report.rejected.append((line, id_column, "id is empty"))
            continue
        if len(external_id) > 64:
            report.rejected.append((line, id_column, "id longer than 64 characters"))
            continue
        external_id = external_id or hashlib.sha1(f"{title}\n{text}".encode(), usedforsecurity=False).hexdigest()[:40]
        written = None
        if date_column and (row.get(date_column) or "").strip():
            written = parse_datetime(row[date_column].strip()) or _parse_date(row[date_column].strip())
            if written is None:
                report.rejected.append((line, date_column, f"date {row[date_column]!r} is not YYYY-MM-DD[ HH:MM]"))
                continue
            if timezone.is_naive(written):
                written = timezone.make_aware(written, timezone.get_default_timezone())
        if external_id in incoming:
            report.rejected.append(
                (line, id_column or text_column, f"duplicate of line {incoming[external_id]['line']}")
            )
            continue
        incoming[external_id] = {
            "line": line,
            "values": {
                "title": title[:255],
                "text": text,
                "label": label,
                "score": score,
                "language": language or detect_language(compose_text(title, text), prior=prior).language[:8],
                "created_at_source": written,
            },
        }
    report.rejected.sort(key=lambda item: item[0])
    changed_ids: list[int] = []
    with transaction.atomic():
        existing = {
            r.external_id: r
            for r in Review.objects.select_for_update().filter(
                source=Review.Source.IMPORT, channel=channel, order__isnull=True, external_id__in=list(incoming)
            )
        }
        create, update = [], []
        for external_id, item in incoming.items():
            values = item["values"]
            review = existing.get(external_id)
            if review is None:
                create.append(Review(source=Review.Source.IMPORT, channel=channel, external_id=external_id, **values))
            elif any(
                getattr(review, k) != v for k, v in values.items() if not (k == "created_at_source" and v is None)
            ):
                for key, value in values.items():
                    if key == "created_at_source" and value is None:
                        continue
                    setattr(review, key, value)
                update.append(review)
            else:
                report.unchanged += 1
        Review.objects.bulk_create(create, batch_size=1000)
        if update:
            Review.objects.bulk_update(
                update,
                ["title", "text", "label", "score", "language", "created_at_source", "updated_at"],
                batch_size=1000,
            )
        report.created, report.updated = len(create), len(update)
        created_ids = list(
            Review.objects.filter(
                source=Review.Source.IMPORT, channel=channel, external_id__in=[r.external_id for r in create]
            ).values_list("pk", flat=True)
        )
        changed_ids = created_ids + [r.pk for r in update]
        if active_model_version(SENTIMENT_SPEC.name) is not None:
            reviews_schedule_analysis(review_ids=changed_ids)
    return report


def _parse_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None

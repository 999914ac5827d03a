"""Hypothesis fuzzing of the importers' CSV reader and field parsers, the review text normalisers and PII masking.

Contract: whatever the bytes or text, the importers answer with a file error or per-row (line, field,
reason) rejections, and the normalisers return text; no other exception ever escapes.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.pii import cpf_is_valid, find_pii, mask_email, mask_name, mask_pii
from feedback.ml.language import detect_language, detect_languages
from feedback.ml.replies import fill_template, unknown_placeholders
from feedback.ml.sentiment import compose_text, normalize_text
from feedback.ml.suspicious import shingles
from feedback.ml.topics import default_keyword_rules, fold_text, keyword_topics
from ingest.reader import CsvTable, Row, read_csv
from ingest.report import ImportReport

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text that looks like what arrives in CSV cells, plus anything unicode.
cells = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"-?[0-9]{0,12}([.,][0-9]{0,6})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(
        ["nan", "inf", "-inf", "NaN", "1e309", "", " ", "0x10", "１２", "2018-02-30", "2018-13-01 25:61:00"]
    ),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True),
)


def _row(value: str) -> tuple[Row, ImportReport]:
    table = CsvTable(name="fuzz.csv", columns=["v"])
    return Row(table, 2, {"v": value}), ImportReport(source="fuzz")


@FAST
@given(value=cells)
def test_field_parsers_return_a_value_or_a_row_error(value):
    parsers = [
        lambda r: r.text("v", required=True, max_length=10),
        lambda r: r.number("v"),
        lambda r: r.number("v", min_value=0, max_value=100),
        lambda r: r.integer("v"),
        lambda r: r.integer("v", min_value=1, max_value=2147483647),
        lambda r: r.decimal("v"),
        lambda r: r.decimal("v", places=4, min_value=0),
        lambda r: r.datetime("v", required=True),
        lambda r: r.date("v", required=True),
        lambda r: r.choice("v", ["a", "b"]),
    ]
    for index, parse in enumerate(parsers):
        row, report = _row(value)
        result = parse(row)
        if not row.ok:
            if index:  # text() hands back the truncated text along with its error
                assert result is None
            row.reject_into(report)
            assert len(report.rejected) == 1
            assert report.rejected[0].line == 2
            assert report.rejected[0].field == "v"
            assert report.rejected[0].reason


@FAST
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.lists(st.lists(cells, min_size=0, max_size=4), max_size=6).map(
            lambda rows: "\n".join(",".join(f'"{c}"' if i % 2 else c for i, c in enumerate(r)) for r in rows).encode()
        ),
    ),
    header=st.sampled_from([b"a,b\n", b"", b"a\n", b'"a,b\n', b"\xef\xbb\xbfa,b\n"]),
    gz=st.booleans(),
    encoding=st.sampled_from(["auto", "utf-8", "latin-1", "cp1252"]),
)
def test_read_csv_returns_a_table_or_a_file_error(raw, header, gz, encoding):
    data = header + raw
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / ("fuzz.csv.gz" if gz else "fuzz.csv")
        path.write_bytes(gzip.compress(data) if gz and len(data) % 3 else data)
        report = ImportReport(source="fuzz")
        table = read_csv(path, required=["a"], report=report, encoding=encoding)
    file_report = report.files[path.name]
    if table is None:
        assert file_report.error
    else:
        assert file_report.error in (None, "")
        assert table.columns[: len(table.columns)] == table.columns
        for line, values in table.rows:
            assert line >= 2
            assert list(values) == table.columns
        for rejected in report.rejected:
            assert rejected.line >= 1 and rejected.reason


@FAST
@given(text=st.one_of(st.none(), st.text(max_size=200)), title=st.one_of(st.none(), st.text(max_size=30)))
def test_review_text_normalisers_always_return_text(text, title):
    guess = detect_language(text)
    assert isinstance(guess.language if hasattr(guess, "language") else guess[0], str)
    composed = compose_text(title, text)
    assert isinstance(composed, str)
    assert isinstance(normalize_text(composed), str)
    assert isinstance(fold_text(composed), str)
    assert len(detect_languages([composed, composed])) == 2
    topics = keyword_topics(composed, "pt", default_keyword_rules())
    assert isinstance(topics, dict)
    assert isinstance(shingles(composed, 3), set)


@FAST
@given(
    template=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=10),
            st.just("{order_number}"),
            st.just("{{"),
            st.just("}}"),
            st.from_regex(r"\{[a-z_]{1,12}\}", fullmatch=True),
        ),
        max_size=6,
    ).map("".join),
    facts=st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4),
)
def test_reply_templates_never_raise(template, facts):
    assert isinstance(unknown_placeholders(template), list)
    filled = fill_template(template, facts)
    assert filled is not None


@pytest.mark.parametrize("template", ["Oi {", "Oi }", "{order_number", "x } y"])
def test_malformed_reply_template_gives_a_validation_result(template):
    assert isinstance(unknown_placeholders(template), list)


@FAST
@given(text=st.one_of(st.text(max_size=200), st.from_regex(r"[0-9.\- /()+@a-z]{0,40}", fullmatch=True)))
def test_pii_masking_never_raises_and_masks_what_it_finds(text):
    matches = find_pii(text)
    masked = mask_pii(text)
    assert isinstance(masked, str)
    for match in matches:
        value = getattr(match, "value", None) or getattr(match, "text", None)
        if value and len(value) >= 6:
            assert value not in masked
    assert isinstance(mask_name(text), str)
    assert isinstance(mask_email(text), str)
    assert cpf_is_valid("".join(ch for ch in text if ch in "0123456789")[:11]) in (True, False)

"""Row: a bad required value is an error that rejects the row; a bad optional one a warning that keeps it."""

from decimal import Decimal

import pytest

from ingest.reader import CsvTable, Row
from ingest.report import ClearedField, ImportReport, RejectedRow


def row_of(**values: str) -> Row:
    return Row(CsvTable(name="f.csv", columns=list(values)), 7, values)


@pytest.mark.parametrize(
    ("parse", "reason"),
    [
        (lambda r: r.number("v", required=False), "not a number: 'x1'"),
        (lambda r: r.integer("v", required=False), "not a whole number: 'x1'"),
        (lambda r: r.decimal("v", required=False), "not a number: 'x1'"),
        (lambda r: r.datetime("v"), "not a date/time: 'x1' (expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
        (lambda r: r.date("v"), "not a date/time: 'x1' (expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
        (lambda r: r.choice("v", ["a"], required=False), "unknown value 'x1' (expected one of: a)"),
    ],
)
def test_a_bad_optional_value_is_cleared_with_a_warning_and_the_row_kept(parse, reason):
    row, report = row_of(v="x1", w="2"), ImportReport(source="t")

    assert parse(row) is None
    assert row.integer("w") == 2

    assert (row.ok, row.errors, row.warnings) == (True, [], [("v", reason)])
    assert row.report_into(report) is True
    assert (report.rejected, report.warnings) == ([], [ClearedField("f.csv", 7, "v", reason)])
    assert (report.files["f.csv"].rejected, report.files["f.csv"].cleared) == (0, 1)


def test_optional_text_too_long_is_cleared_and_required_text_too_long_rejects():
    row = row_of(a="abcdef", b="abcdef")

    assert (row.text("a", max_length=3), row.text("b", required=True, max_length=3)) == ("", "abc")
    assert row.warnings == [("a", "is 6 characters long, at most 3 allowed")]
    assert row.errors == [("b", "is 6 characters long, at most 3 allowed")]


def test_a_rejected_row_lists_its_warnings_among_the_reasons_in_the_order_found():
    row, report = row_of(v="soon", price="-1"), ImportReport(source="t")

    assert (row.datetime("v"), row.decimal("price", min_value=Decimal(0))) == (None, None)

    assert row.report_into(report) is False
    assert report.rejected == [
        RejectedRow("f.csv", 7, "v", "not a date/time: 'soon' (expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
        RejectedRow("f.csv", 7, "price", "-1 is below the minimum 0"),
    ]
    assert (report.warnings, report.files["f.csv"].rejected, report.files["f.csv"].cleared) == ([], 1, 0)


def test_a_missing_optional_value_is_neither_error_nor_warning():
    row = row_of(v="  ")

    assert (row.datetime("v"), row.integer("v", required=False), row.text("v", max_length=1)) == (None, None, "")
    assert (row.ok, row.warnings) == (True, [])


def test_keep_stored_names_the_fields_of_the_cleared_columns_and_refuses_an_unnamed_one():
    row = row_of(a="x", b="y", c="1", d="z")
    row.integer("a", required=False), row.datetime("b"), row.integer("c"), row.datetime("d")

    assert row.cleared == {"a", "b", "d"}
    assert row.keep_stored({"a": "a_field", "b": ("b1", "b2"), "c": "unused", "d": ()}) == {"a_field", "b1", "b2"}
    with pytest.raises(KeyError, match="no field is named for the optional column 'd'"):
        row.keep_stored({"a": "a_field", "b": "b1"})

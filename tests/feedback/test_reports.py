"""Feedback HTML reports and their CSV downloads."""

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.factories import OrderLineFactory
from tests.feedback.factories import QueueItemFactory, ReviewAnalysisFactory, ReviewFactory


@pytest.fixture
def logged_in(client, operator_user):
    client.force_login(operator_user)
    return client


def _analysis(month: int, sentiment: str, topics: list[str]):
    review = ReviewFactory(created_at_source=datetime(2018, month, 5, tzinfo=UTC), text="chegou quebrado")
    OrderLineFactory(order=review.order, line_number=1)
    return ReviewAnalysisFactory(review=review, sentiment=sentiment, topics=topics)


def test_trends_report_and_csv(logged_in):
    _analysis(1, "negative", ["late_delivery"])
    _analysis(1, "positive", [])
    _analysis(2, "negative", ["late_delivery", "damaged_quality"])
    page = logged_in.get("/reports/feedback/trends/")
    assert page.status_code == 200
    assert b"Sellers with most complaints" in page.content
    phrases = next(t for t in page.context["tables"] if t.title == "Key phrases of complaints (top products)")
    assert [row[1] for row in phrases.rows] == ["chegou, chegou quebrado, quebrado"] * 2
    download = logged_in.get("/reports/feedback/trends/?format=csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["month"], r["negative"], r["positive"], r["share_negative"]) for r in rows] == [
        ("2018-01", "1", "1", "0.5"),
        ("2018-02", "1", "0", "1.0"),
    ]
    assert [(r["late_delivery"], r["damaged_quality"]) for r in rows] == [("1.0", "0.0"), ("1.0", "1.0")]


def test_trends_report_rejects_a_bad_month(logged_in):
    response = logged_in.get("/reports/feedback/trends/?since=2018-13")
    assert response.status_code == 400
    assert b"since=&#x27;2018-13&#x27; is not a month like 2018-01" in response.content


def test_queue_report_counts_states(logged_in):
    QueueItemFactory()
    QueueItemFactory(state="resolved", resolved_at=datetime(2030, 1, 1, tzinfo=UTC))
    download = logged_in.get("/reports/feedback/queue/?format=csv")
    rows = {r["state"]: r["items"] for r in csv.DictReader(io.StringIO(download.content.decode()))}
    assert rows == {"new": "1", "assigned": "0", "in_progress": "0", "waiting": "0", "resolved": "1", "dismissed": "0"}
    assert logged_in.get("/reports/feedback/queue/").status_code == 200
    assert logged_in.get("/reports/feedback/suspicious/").status_code == 200


def test_reports_need_login(client, db):
    assert client.get("/reports/feedback/trends/").status_code == 302

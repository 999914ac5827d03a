"""Reviews REST API: list with filters and constant query counts, bulk upsert with per-row errors."""

import pytest

from feedback.models import Review
from tests.factories import OrderFactory
from tests.feedback.factories import ReviewAnalysisFactory, ReviewFactory


def test_list_is_ordered_filtered_and_has_constant_queries(api_client, django_assert_max_num_queries):
    for _ in range(3):
        ReviewAnalysisFactory(sentiment="negative", topics=["late_delivery"])
    ReviewAnalysisFactory(sentiment="positive", review=ReviewFactory(score=5, text="ótimo"))
    with django_assert_max_num_queries(10) as first:
        response = api_client.get("/api/v1/reviews/")
    assert response.json()["count"] == 4
    for _ in range(10):
        ReviewAnalysisFactory()
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert api_client.get("/api/v1/reviews/").json()["count"] == 14
    negative = api_client.get("/api/v1/reviews/", {"sentiment": "negative", "topic": "late_delivery"}).json()
    assert negative["count"] == 3
    assert {r["analysis"]["sentiment"] for r in negative["results"]} == {"negative"}


def test_bulk_creates_updates_and_rejects_rows_with_reasons(api_client):
    order = OrderFactory(external_id="BR-9")
    rows = [
        {"external_id": "r1", "order": "BR-9", "source": "store", "score": 1, "text": "não chegou"},
        {"external_id": "r2", "channel": "app", "text": "great", "label": "positive"},
        {"external_id": "r3", "order": "NOPE", "source": "store", "score": 2, "text": "x"},
        {"external_id": "r4", "score": 9, "text": "y"},
        {"external_id": "r5"},
    ]
    response = api_client.post("/api/v1/reviews/bulk/", rows, format="json")
    assert response.status_code == 207
    body = response.json()
    assert [(r["index"], r["status"]) for r in body] == [
        (0, "created"),
        (1, "created"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
    ]
    assert body[2]["errors"] == {"order": ["unknown order 'NOPE'"]}
    assert body[3]["errors"] == {"score": ["Ensure this value is less than or equal to 5."]}
    assert body[4]["errors"] == {"non_field_errors": ["a review needs a score, a title or a text"]}
    assert Review.objects.get(external_id="r1").order == order
    assert Review.objects.get(external_id="r2").source == "api"
    again = api_client.post("/api/v1/reviews/bulk/", [{**rows[0], "score": 2}, rows[1]], format="json")
    assert [(r["status"], r["id"]) for r in again.json()] == [
        ("updated", Review.objects.get(external_id="r1").pk),
        ("unchanged", Review.objects.get(external_id="r2").pk),
    ]
    assert Review.objects.get(external_id="r1").score == 2
    assert Review.objects.count() == 2


def test_bulk_refuses_a_body_that_is_not_a_list(api_client):
    response = api_client.post("/api/v1/reviews/bulk/", {"external_id": "x"}, format="json")
    assert response.status_code == 400
    assert Review.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/reviews/", "/api/v1/feedback/queue/", "/api/v1/feedback/reply-templates/"])
def test_anonymous_is_refused(client, db, path):
    assert client.get(path).status_code in (401, 403)

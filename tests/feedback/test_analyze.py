"""analyze_text export, the analyze API and its 1,000-text limit, scoring stored reviews."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from feedback.models import Review, ReviewAnalysis
from feedback.services import reviews_analyze


def test_analyze_text_exports_exactly_the_contract_columns(trained_sentiment, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "id,text\nt1,produto péssimo e quebrado\nt2,excellent product love it\nt3,很好吃，很满意\nt4,\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.csv"
    out = StringIO()
    call_command("analyze_text", "--input", str(source), "--export", str(target), stdout=out)
    with open(target, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "language", "sentiment", "probability", "topics", "model_version"]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("t1", "pt", "negative"),
        ("t2", "en", "positive"),
        ("t3", "zh", "positive"),
        ("t4", "und", "neutral"),
    ]
    assert rows[1][4] == "damaged_quality"
    assert {r[5] for r in rows[1:]} == {f"feedback-sentiment:v{trained_sentiment.version}"}
    assert all(0 <= float(r[3]) <= 1 for r in rows[1:])
    assert out.getvalue() == f"4 texts analysed → {target}\n"


def test_short_texts_are_read_in_the_languages_the_active_model_was_trained_on(db, api_client):
    from feedback.services import sentiment_train
    from tests.feedback.factories import corpus_reviews

    corpus_reviews(languages=("pt",), copies=3)
    (version,) = sentiment_train(algorithms=("linear",))
    assert version.status == "active"
    response = api_client.post(
        "/api/v1/feedback/analyze/",
        {"items": [{"id": "a", "text": "Ok"}, {"id": "b", "text": "Top"}, {"id": "c", "text": "The box was damaged"}]},
        format="json",
    )
    assert response.status_code == 200
    assert [r["language"] for r in response.json()["results"]] == ["pt", "pt", "en"]


def test_analyze_text_without_model_or_with_wrong_columns_fails_clearly(db, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"missing column\(s\) \['text'\]; need id,text"):
        call_command("analyze_text", "--input", str(source), "--export", str(tmp_path / "o.csv"))
    source.write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no active sentiment model"):
        call_command("analyze_text", "--input", str(source), "--export", str(tmp_path / "o.csv"))


def test_analyze_api_scores_texts(trained_sentiment, api_client):
    response = api_client.post(
        "/api/v1/feedback/analyze/",
        {"items": [{"id": "a", "text": "não recebi, péssimo"}, {"id": "b", "text": "great, love it"}]},
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["language"], r["sentiment"], r["topics"]) for r in results] == [
        ("a", "pt", "negative", ["not_delivered"]),
        ("b", "en", "positive", []),
    ]


def test_analyze_api_refuses_more_than_1000_texts(trained_sentiment, api_client):
    response = api_client.post("/api/v1/feedback/analyze/", {"texts": ["bom"] * 1001}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "at most 1000 texts per request, got 1001; split the batch or use the analyze_text command for files"
        ]
    }
    response = api_client.post("/api/v1/feedback/analyze/", {"texts": ["bom"] * 1000}, format="json")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


def test_analyze_api_without_a_model_says_so(api_client):
    response = api_client.post("/api/v1/feedback/analyze/", {"texts": ["bom"]}, format="json")
    assert response.status_code == 503
    assert "train:sentiment" in response.json()["detail"]


def test_analyze_api_needs_authentication(client, db):
    assert client.post("/api/v1/feedback/analyze/", {"texts": ["x"]}, content_type="application/json").status_code in (
        401,
        403,
    )


def test_stored_reviews_are_scored_and_rescoring_overwrites(trained_sentiment):
    from tests.feedback.factories import ReviewFactory

    review = ReviewFactory(score=1, text="produto quebrado, não recebi tudo", language="")
    assert reviews_analyze(review_ids=[review.pk]) == 1
    analysis = ReviewAnalysis.objects.get(review=review)
    assert (analysis.language, analysis.sentiment, analysis.model_version_id) == (
        "pt",
        "negative",
        trained_sentiment.pk,
    )
    assert sorted(analysis.topics) == ["damaged_quality", "not_delivered"]
    assert Review.objects.get(pk=review.pk).language == "pt"
    assert reviews_analyze(review_ids=[review.pk]) == 1
    assert ReviewAnalysis.objects.filter(review=review).count() == 1
    # a negative, unanswered review with a severe topic joins the queue
    assert review.queue_item.state == "new"


def test_only_a_confident_language_guess_is_stored_on_the_review(trained_sentiment):
    """The pt / en / zh model leaves "Ok" a toss-up: its analysis names the best guess, the review keeps no
    language (so the next scoring detects it again instead of taking the guess as given)."""
    from tests.feedback.factories import ReviewFactory

    unsure = ReviewFactory(text="Ok", language="")
    clear = ReviewFactory(text="The parcel never arrived and nobody answers", language="")
    assert reviews_analyze(review_ids=[unsure.pk, clear.pk]) == 2
    assert ReviewAnalysis.objects.get(review=unsure).language in {"pt", "en"}
    assert Review.objects.get(pk=unsure.pk).language == ""
    assert (ReviewAnalysis.objects.get(review=clear).language, Review.objects.get(pk=clear.pk).language) == ("en", "en")


def test_rescoring_writes_the_rows_the_first_scoring_wrote(trained_sentiment):
    """First scoring inserts, re-scoring updates: the same values either way, one row per review."""
    from tests.feedback.factories import ReviewFactory

    reviews = [
        ReviewFactory(score=1, text="produto quebrado, não recebi tudo", language="pt"),
        ReviewFactory(score=5, text="excellent product, arrived early", language="en"),
        ReviewFactory(score=3, text="", language="pt"),
    ]
    ids = [r.pk for r in reviews]
    fields = [
        "review_id", "language", "sentiment", "probability", "distribution", "topics", "topic_scores",
        "topic_evidence", "suspicious_score", "suspicious_reasons", "model_version_id", "topic_model_version_id",
    ]  # fmt: skip
    assert reviews_analyze(review_ids=ids, batch_size=2) == 3
    first = list(ReviewAnalysis.objects.order_by("review_id").values("pk", "analyzed_at", "updated_at", *fields))
    assert [row["review_id"] for row in first] == ids and first[0]["sentiment"] == "negative"

    assert reviews_analyze(review_ids=ids, batch_size=2) == 3
    second = list(ReviewAnalysis.objects.order_by("review_id").values("pk", "analyzed_at", "updated_at", *fields))
    assert [{k: row[k] for k in ("pk", *fields)} for row in second] == [
        {k: row[k] for k in ("pk", *fields)} for row in first
    ]
    assert all(
        b["analyzed_at"] > a["analyzed_at"] and b["updated_at"] == b["analyzed_at"]
        for a, b in zip(first, second, strict=True)
    )

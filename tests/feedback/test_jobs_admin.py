"""Jobs (train → activate → re-score), the topic trainer, and the admin pages agents use."""

import csv

import pytest

from ecomops.jobs import job_start
from ecomops.models import JobRun
from feedback.models import QueueItem, Review, ReviewAnalysis
from feedback.services import TOPIC_SPEC, topics_train
from tests.feedback.factories import CORPUS, QueueItemFactory, ReviewAnalysisFactory, ReviewFactory


def _corpus_reviews():
    Review.objects.bulk_create(
        [
            Review(
                source="import",
                channel=f"c-{lang}",
                external_id=f"{lang}{label}{i}",
                label=label,
                text=text,
                language=lang,
            )
            for lang, by_label in CORPUS.items()
            for label, texts in by_label.items()
            for i, text in enumerate(texts)
        ]
    )


def test_train_job_activates_a_version_and_rescoring_follows(db, django_capture_on_commit_callbacks):
    _corpus_reviews()
    store_review = ReviewFactory(score=1, text="produto péssimo, veio quebrado", language="pt")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="train:sentiment", parameters={"algorithms": ["linear"]}, requested_via="test")
    job.refresh_from_db()
    assert job.state == JobRun.State.SUCCEEDED, job.error
    rescore = JobRun.objects.get(kind="score:sentiment")
    assert rescore.state == JobRun.State.SUCCEEDED, rescore.error
    assert ReviewAnalysis.objects.count() == Review.objects.count()
    analysis = ReviewAnalysis.objects.get(review=store_review)
    assert (analysis.sentiment, analysis.model_version.status) == ("negative", "active")
    assert QueueItem.objects.filter(review=store_review, state="new").exists()


def _classified_csv(path):
    """An olist_classified-format file: 60 late deliveries (3 votes), 60 happy reviews."""
    columns = [
        "review_comment_title",
        "review_comment_message",
        *[
            "votes_atrasado",
            "votes_entrega_parcial",
            "votes_baixa_qualidade",
            "votes_diferente_do_anunciado",
            "votes_devolucao",
            "votes_outro_entrega",
            "votes_outro_pedido",
        ],
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(60):
            writer.writerow(["", f"a entrega atrasou muito, pedido {i} chegou depois do prazo", 3, 0, 0, 0, 0, 0, 0])
            writer.writerow(["", f"produto {i} ótimo, gostei muito", 0, 0, 0, 0, 0, 0, 0])


def test_topics_train_learns_from_vote_columns(db, tmp_path):
    path = tmp_path / "classified.csv"
    _classified_csv(path)
    version = topics_train(path=path)
    assert version.registered_model.name == TOPIC_SPEC.name
    assert version.status == "active"
    assert version.metrics["per_topic_f1"] == {"late_delivery": 1.0}


def test_train_models_re_scores_the_stored_reviews_once_after_sentiment_and_topics(
    db, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """Both activations ask for a re-scoring; the command starts one, after the last training, with both new
    versions (the store's reviews were scored once, not twice, and not while topics trained)."""
    from io import StringIO

    from django.core.management import call_command

    from feedback import services

    _corpus_reviews()
    store_review = ReviewFactory(score=1, text="a entrega atrasou muito e o produto veio quebrado", language="pt")
    path = tmp_path / "classified.csv"
    _classified_csv(path)
    monkeypatch.setattr(services, "default_topic_data_path", lambda: path)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("train_models", "--only", "sentiment", "topics", stdout=StringIO())
    (rescore,) = JobRun.objects.filter(kind="score:sentiment")
    trainings = JobRun.objects.filter(kind__in=["train:sentiment", "train:topics"])
    assert rescore.state == JobRun.State.SUCCEEDED, rescore.error
    assert rescore.pk > max(trainings.values_list("pk", flat=True))
    analysis = ReviewAnalysis.objects.get(review=store_review)
    assert analysis.sentiment == "negative"
    assert "late_delivery" in analysis.topics


def test_topics_train_without_data_fails_clearly(db, tmp_path):
    with pytest.raises(FileNotFoundError, match="topic training data not found"):
        topics_train(path=tmp_path / "absent.csv")


@pytest.fixture
def admin_client_operator(client, operator_user):
    client.force_login(operator_user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/feedback/review/",
        "/admin/feedback/reviewanalysis/",
        "/admin/feedback/topickeyword/",
        "/admin/feedback/replytemplate/",
        "/admin/feedback/queueitem/",
        "/admin/feedback/reviewreply/",
    ],
)
def test_admin_pages_render(admin_client_operator, url):
    ReviewAnalysisFactory(topics=["late_delivery"], suspicious_reasons=["burst"], suspicious_score=0.3)
    assert admin_client_operator.get(url).status_code == 200


def test_admin_review_search_finds_by_text(admin_client_operator):
    ReviewFactory(external_id="findme", text="a tampa veio rachada")
    ReviewFactory(external_id="other", text="tudo certo")
    response = admin_client_operator.get("/admin/feedback/review/", {"q": "rachada"})
    assert [r.external_id for r in response.context["cl"].result_list] == ["findme"]


def test_admin_claim_opens_the_item_and_sending_records_the_reply(admin_client_operator, operator_user):
    item = QueueItemFactory(review=ReviewAnalysisFactory(topics=["late_delivery"]).review)
    response = admin_client_operator.get("/admin/feedback/queueitem/claim/")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/feedback/queueitem/{item.pk}/change/"
    assert admin_client_operator.get(response["Location"]).status_code == 200
    response = admin_client_operator.post(
        f"/admin/feedback/queueitem/{item.pk}/change/",
        {
            "new_note": "called the carrier",
            "reply": "Olá, já resolvemos.",
            "send_reply": "on",
            "notes-TOTAL_FORMS": "0",
            "notes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == "waiting"
    assert list(item.notes.values_list("text", flat=True)) == ["called the carrier"]
    assert list(item.review.replies.values_list("body", "author")) == [("Olá, já resolvemos.", operator_user.pk)]

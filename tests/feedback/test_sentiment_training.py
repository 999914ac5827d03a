"""What train:sentiment learns from: --as-of, the held-out split of undated sets, refitting, promotion on new data."""

from datetime import UTC, datetime

import pandas as pd

from ecomops.jobs import job_create, job_run
from ecomops.models import ModelVersion
from feedback.services import SENTIMENT_SPEC, _holdout_split, sentiment_train
from tests.feedback.factories import corpus_reviews


def test_holdout_split_draws_undated_rows_by_id_and_dated_rows_by_date():
    frame = pd.DataFrame(
        {
            "id": range(1, 201),
            "text": [f"t{i}" for i in range(200)],
            # an imported file sorted by label: the last rows are all negative
            "label": ["positive"] * 100 + ["negative"] * 100,
            "language": ["zh"] * 100 + ["zh"] * 50 + ["pt"] * 50,
            "dated": [False] * 150 + [True] * 50,
            "written_at": pd.date_range("2018-01-01", periods=200, freq="D"),
        }
    )
    train, test = _holdout_split(frame, 0.2)
    again_train, again_test = _holdout_split(frame, 0.2)
    assert list(test.id) == list(again_test.id)
    assert len(train) + len(test) == 200 and not set(train.id) & set(test.id)
    assert list(test[test.language == "pt"].id) == list(range(191, 201))  # the latest 10 of the 50 dated
    zh_test = test[test.language == "zh"]
    assert set(zh_test.label) == {"positive", "negative"}
    assert 20 <= len(zh_test) <= 40


def test_train_sentiment_job_learns_only_from_reviews_written_before_as_of(db):
    corpus_reviews(languages=("en",))  # an undated imported set: always used
    corpus_reviews(languages=("pt",), written_at=datetime(2018, 3, 1, tzinfo=UTC))
    corpus_reviews(languages=("zh",), written_at=datetime(2018, 3, 15, tzinfo=UTC))  # on the as-of day: not before it
    job = job_create(kind="train:sentiment", parameters={"as_of": "2018-03-15", "algorithms": ["linear"]})
    job = job_run(job_id=job.pk)
    assert job.state == "succeeded", job.error
    version = ModelVersion.objects.get(registered_model__name=SENTIMENT_SPEC.name)
    assert version.parameters["as_of"] == "2018-03-15"
    assert version.metrics["deployed_rows"] == 40
    assert version.metrics["train_rows"] + version.metrics["test_rows"] == 40


def test_a_model_for_newly_imported_languages_replaces_one_that_never_saw_them(db):
    corpus_reviews(languages=("pt",), copies=3)
    (first,) = sentiment_train(algorithms=("linear",), rescore=False)
    # its stored held-out score is perfect: the old rule (stored metric must be beaten) would keep it for ever
    ModelVersion.objects.filter(pk=first.pk).update(metrics={**first.metrics, "macro_f1": 1.0})
    corpus_reviews(languages=("zh",), copies=15, prefix="new-")
    corpus_reviews(languages=("en",), copies=15, prefix="new-")
    (second,) = sentiment_train(algorithms=("linear",), rescore=False)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("archived", "active")
    assert second.promotion_note.startswith("automatic: macro_f1 ")
    assert f"vs v{first.version} macro_f1 " in second.promotion_note
    assert second.promotion_note.endswith("held-out reviews stored after it was trained")


def test_only_a_version_that_is_activated_is_refitted_on_every_row(db):
    corpus_reviews(copies=3)
    (first,) = sentiment_train(algorithms=("linear",), rescore=False)
    (again,) = sentiment_train(algorithms=("linear",), rescore=False)  # same rows: the same score does not win
    first.refresh_from_db()
    again.refresh_from_db()
    assert (first.status, again.status) == ("active", "candidate")
    assert again.metrics["macro_f1"] == first.metrics["macro_f1"]
    assert (first.parameters["refit_on_all_rows"], again.parameters["refit_on_all_rows"]) == (True, False)
    assert (first.metrics["deployed_rows"], "deployed_rows" in again.metrics) == (180, False)

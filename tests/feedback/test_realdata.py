"""import_reviews on the real shared label files (skipped where ../shared/data is absent)."""

from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from feedback.models import Review
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata


def test_import_waimai_binary_labels(db):
    path = shared_data("reviews", "zh", "waimai_10k.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = StringIO()
    call_command(
        "import_reviews",
        str(path),
        "--language",
        "zh",
        "--text-column",
        "review",
        "--label-column",
        "label",
        stdout=out,
    )
    texts = frame["review"].str.strip()
    valid = frame[texts.ne("")]
    distinct = valid.assign(key=valid["review"].str.strip()).drop_duplicates("key")
    assert Review.objects.filter(channel="waimai_10k").count() == len(distinct)
    assert Review.objects.filter(channel="waimai_10k", label="negative").count() == int(
        (distinct["label"] == "0").sum()
    )
    assert out.getvalue().splitlines()[0] == (
        f"waimai_10k.csv: read {len(frame)}, created {len(distinct)}, updated 0, unchanged 0, "
        f"rejected {len(frame) - len(distinct)} (labels: binary)"
    )


def _first_line_of_import(path, *args: str) -> str:
    out = StringIO()
    call_command("import_reviews", str(path), "--language", "en", "--no-header", *args, stdout=out)
    return out.getvalue().splitlines()[0]


def test_import_uci_sentences_without_a_header_reads_every_line(db):
    """Tab-separated sentences hold quotation marks as text: every line is one review (CSV quoting lost 252)."""
    path = shared_data("reviews", "en", "imdb_labelled.txt")
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    distinct = {line.rpartition("\t")[0].strip() for line in lines}
    assert _first_line_of_import(path, "--text-column", "1", "--label-column", "2") == (
        f"imdb_labelled.txt: read {len(lines)}, created {len(distinct)}, updated 0, unchanged 0, "
        f"rejected {len(lines) - len(distinct)} (labels: binary)"
    )
    assert len(lines) == 1000


def test_import_amazon_snippets_signed_scores(db):
    path = shared_data("reviews", "en", "amazonReviewSnippets_GroundTruth.txt")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert _first_line_of_import(path, "--id-column", "1", "--label-column", "2", "--text-column", "3") == (
        f"amazonReviewSnippets_GroundTruth.txt: read {len(rows)}, created {len(rows)}, updated 0, unchanged 0, "
        "rejected 0 (labels: signed)"
    )
    assert Review.objects.filter(label="negative").count() == sum(float(r[1]) < 0 for r in rows)
    assert Review.objects.filter(label="neutral").count() == sum(float(r[1]) == 0 for r in rows)


def test_train_topics_job_learns_only_from_reviews_written_before_as_of(db):
    from ecomops.jobs import job_create, job_run
    from ecomops.models import ModelVersion

    path = shared_data("olist_classified", "olist_classified_public_dataset.csv")
    written = pd.to_datetime(pd.read_csv(path, usecols=["review_creation_date"]).review_creation_date)
    job = job_run(job_id=job_create(kind="train:topics", parameters={"as_of": "2018-01-01"}).pk)
    assert job.state == "succeeded", job.error
    version = ModelVersion.objects.get(registered_model__name="feedback-topics")
    assert version.parameters["as_of"] == "2018-01-01"
    assert version.parameters["rows"] == int((written < "2018-01-01").sum())
    assert 0 < version.parameters["rows"] < len(written)

"""import_reviews: label styles, per-row rejections, idempotency."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from feedback.models import Review
from feedback.services_import import label_map, label_style_detect


@pytest.mark.parametrize(
    ("values", "style"),
    [
        (["0", "1", "1"], "binary"),
        (["0", "1", "2"], "binary"),
        (["1", "1"], "binary"),
        (["1", "5", "3"], "stars"),
        (["negative", "positive"], "text"),
        (["1", "1.0", "0"], "binary"),
    ],
)
def test_label_style_detection(values, style):
    assert label_style_detect(values) == style


@pytest.mark.parametrize(
    ("value", "style", "expected"),
    [
        ("0", "binary", ("negative", None)),
        ("1", "binary", ("positive", None)),
        ("1", "stars", ("negative", 1)),
        ("2", "stars", ("negative", 2)),
        ("3", "stars", ("neutral", 3)),
        ("4", "stars", ("positive", 4)),
        ("5", "stars", ("positive", 5)),
        ("Negative", "text", ("negative", None)),
        ("neutral", "text", ("neutral", None)),
        (" POSITIVE ", "text", ("positive", None)),
    ],
)
def test_label_mapping_of_each_style(value, style, expected):
    assert label_map(value, style) == expected


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_import_binary_labels_rejects_bad_rows_and_is_idempotent(db, tmp_path):
    path = _write(tmp_path, "waimai.csv", "label,review\n1,很快，好吃\n0,太慢了\n2,奇怪的标签\n1,\n0,难吃\n")
    out = StringIO()
    call_command(
        "import_reviews", path, "--language", "zh", "--text-column", "review", "--label-column", "label", stdout=out
    )
    assert out.getvalue().splitlines() == [
        "waimai.csv: read 5, created 3, updated 0, unchanged 0, rejected 2 (labels: binary)",
        "  rejected line 4 [label]: label '2' is not 0 or 1",
        "  rejected line 5 [review]: text is empty",
    ]
    reviews = Review.objects.filter(channel="waimai").order_by("text")
    assert [(r.text, r.label, r.language, r.source, r.order_id) for r in reviews] == [
        ("太慢了", "negative", "zh", "import", None),
        ("很快，好吃", "positive", "zh", "import", None),
        ("难吃", "negative", "zh", "import", None),
    ]

    # the same file again: nothing new, nothing changed
    out = StringIO()
    call_command(
        "import_reviews", path, "--language", "zh", "--text-column", "review", "--label-column", "label", stdout=out
    )
    assert (
        out.getvalue().splitlines()[0]
        == "waimai.csv: read 5, created 0, updated 0, unchanged 3, rejected 2 (labels: binary)"
    )
    assert Review.objects.count() == 3


def test_import_star_labels_with_ids_updates_changed_rows(db, tmp_path):
    path = _write(
        tmp_path, "shop.tsv", "id\tstars\tbody\na1\t5\tGreat product\na2\t3\tIt is ok\na3\t1\tBroke in a day\n"
    )
    args = [
        "--language",
        "en",
        "--text-column",
        "body",
        "--label-column",
        "stars",
        "--id-column",
        "id",
        "--channel",
        "shop",
    ]
    call_command("import_reviews", path, *args, stdout=StringIO())
    assert list(
        Review.objects.filter(channel="shop").order_by("external_id").values_list("external_id", "score", "label")
    ) == [
        ("a1", 5, "positive"),
        ("a2", 3, "neutral"),
        ("a3", 1, "negative"),
    ]
    path = _write(tmp_path, "shop.tsv", "id\tstars\tbody\na1\t5\tGreat product\na2\t2\tIt is bad actually\n")
    out = StringIO()
    call_command("import_reviews", path, *args, stdout=out)
    assert out.getvalue().splitlines() == [
        "shop.tsv: read 2, created 0, updated 1, unchanged 1, rejected 0 (labels: stars)"
    ]
    assert Review.objects.get(external_id="a2").label == "negative"


def test_import_text_labels_and_bad_label_is_reported(db, tmp_path):
    path = _write(
        tmp_path,
        "pt.csv",
        "texto,sentimento\nAdorei,positive\nMais ou menos,neutral\nHorrível,negative\nQualquer,talvez\n",
    )
    out = StringIO()
    call_command(
        "import_reviews", path, "--language", "pt", "--text-column", "texto", "--label-column", "sentimento", stdout=out
    )
    assert out.getvalue().splitlines() == [
        "pt.csv: read 4, created 3, updated 0, unchanged 0, rejected 1 (labels: text)",
        "  rejected line 5 [sentimento]: label 'talvez' is not negative, neutral or positive",
    ]
    assert sorted(Review.objects.values_list("label", flat=True)) == ["negative", "neutral", "positive"]


def test_import_with_a_missing_column_fails_clearly_and_writes_nothing(db, tmp_path):
    path = _write(tmp_path, "x.csv", "text,stars\nhello,5\n")
    with pytest.raises(CommandError, match=r"column\(s\) \['label'\] not in the header \['text', 'stars'\]"):
        call_command("import_reviews", path, "--language", "en", "--text-column", "text", "--label-column", "label")
    assert Review.objects.count() == 0


@pytest.mark.parametrize(
    ("values", "style"),
    [(["-0.9", "0.15", "2.3"], "signed"), (["-1", "1"], "signed"), (["0", "1"], "binary")],
)
def test_signed_scores_are_detected_when_a_negative_number_occurs(values, style):
    assert label_style_detect(values) == style


@pytest.mark.parametrize(
    ("value", "expected"), [("-0.9", ("negative", None)), ("0", ("neutral", None)), ("2.25", ("positive", None))]
)
def test_signed_scores_map_by_their_sign(value, expected):
    assert label_map(value, "signed") == expected


def test_signed_score_that_is_not_a_number_is_rejected_with_the_reason():
    with pytest.raises(ValueError, match=r"label 'good' is not a signed score \(below 0 negative, 0 neutral"):
        label_map("good", "signed")


def test_without_language_short_texts_follow_the_stored_reviews_languages(db, tmp_path):
    from tests.feedback.factories import corpus_reviews

    corpus_reviews(languages=("pt",))  # the store so far: Portuguese reviews
    path = _write(tmp_path, "mixed.csv", "label,text\n1,Top\n1,Excelente\n0,The parcel never arrived at all\n1,很好\n")
    call_command(
        "import_reviews",
        path,
        "--language",
        "auto",
        "--text-column",
        "text",
        "--label-column",
        "label",
        stdout=StringIO(),
    )
    imported = Review.objects.filter(channel="mixed").order_by("pk")
    assert [(r.text, r.language) for r in imported] == [
        ("Top", "pt"),
        ("Excelente", "pt"),
        ("The parcel never arrived at all", "en"),
        ("很好", "zh"),
    ]

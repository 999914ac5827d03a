"""analyze_text, import_reviews and the analyze API on awkward input: per-row reasons, valid rows kept, no traceback."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import ModelVersion
from feedback.models import Review
from feedback.services import SENTIMENT_SPEC
from tests.feedback.factories import corpus_reviews


def _analyze(tmp_path, content: bytes, *args):
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    target = tmp_path / "out.csv"
    out, err = StringIO(), StringIO()
    call_command("analyze_text", "--input", str(source), "--export", str(target), *args, stdout=out, stderr=err)
    with open(target, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows, out.getvalue(), err.getvalue()


def test_analyze_text_keeps_every_readable_row_and_lists_the_others(trained_sentiment, tmp_path):
    content = (
        "\ufeffid,text,channel\r\n"  # byte-order mark, CRLF, an extra column
        'a1,"produto péssimo,\r\nveio quebrado",web\r\n'  # quoted text over two lines
        "a2,,web\r\n"  # empty text
        "a3,😀😀,app\r\n"  # emoji only
        ",great product love it,web\r\n"  # no id
        "a1,excellent product love it,web\r\n"  # a repeated id
        "a5,too,many,fields\r\n"
    ).encode() + b"a6,caf\xe9 ruim,web\r\n a7 ,\xe5\xbe\x88\xe5\xa5\xbd\xe5\x90\x83,web\r\n"
    rows, out, err = _analyze(tmp_path, content)
    version = f"feedback-sentiment:v{trained_sentiment.version}"
    assert rows[0] == ["id", "language", "sentiment", "probability", "topics", "model_version"]
    assert [r[:3] for r in rows[1:]] == [
        ["a1", "pt", "negative"],
        ["a2", "und", "neutral"],
        ["a3", "und", rows[3][2]],
        ["a1", "en", "positive"],
        [" a7 ", "zh", "positive"],  # an id is exported exactly as given
    ]
    assert rows[3][2] in {"negative", "neutral", "positive"}
    assert rows[2][3] == "1.0000"  # an empty text is neutral for sure
    assert {r[5] for r in rows[1:]} == {version}
    assert err.splitlines() == [
        "  rejected line 6 [id]: id is empty",
        "  rejected line 8 [-]: has 4 field(s), the header has 3",
        "  rejected line 9 [text]: not valid UTF-8 (byte 0xe9); save the file as UTF-8 or pass --encoding latin-1",
        "  1 row(s) repeat an earlier id; each is exported as it was given",
    ]
    assert out == f"5 texts analysed → {tmp_path / 'out.csv'} (3 rows rejected)\n"


def test_analyze_text_reads_latin_1_when_told(trained_sentiment, tmp_path):
    rows, out, err = _analyze(tmp_path, b'id,text\nb1,"p\xe9ssimo, n\xe3o chegou"\n', "--encoding", "latin-1")
    assert rows[1][:3] == ["b1", "pt", "negative"]
    assert err == ""


def test_analyze_text_rejects_a_text_over_the_field_limit_and_scores_a_long_one(trained_sentiment, tmp_path):
    long_text = "produto excelente, chegou antes do prazo. " * 2_000  # 84,000 characters
    huge_text = "x" * 140_000
    content = f'id,text\nl1,"{long_text}"\nl2,{huge_text}\nl3,muito bom\n'.encode()
    rows, out, err = _analyze(tmp_path, content)
    assert [r[:3] for r in rows[1:]] == [["l1", "pt", "positive"], ["l3", "pt", "positive"]]
    assert err.splitlines() == ["  rejected line 3 [-]: not valid CSV: field larger than field limit (131072)"]


def test_analyze_text_without_the_text_column_or_with_an_empty_file_fails_clearly(trained_sentiment, tmp_path):
    with pytest.raises(CommandError, match=r"missing column\(s\) \['text'\]; need id,text"):
        _analyze(tmp_path, b"id,body\n1,x\n")
    with pytest.raises(CommandError, match=r"the file is empty \(no header line\)"):
        _analyze(tmp_path, b"")
    with pytest.raises(CommandError, match="No such file"):
        call_command("analyze_text", "--input", str(tmp_path / "absent.csv"), "--export", str(tmp_path / "o.csv"))


def test_analyze_text_trains_the_first_model_from_the_labelled_reviews(db, tmp_path):
    corpus_reviews()
    rows, out, err = _analyze(tmp_path, "id,text\nc1,péssimo não chegou\nc2,很好吃，很满意\n".encode())
    version = ModelVersion.objects.get(registered_model__name=SENTIMENT_SPEC.name)
    assert version.status == "active"
    assert version.algorithm == "nb-tfidf-logreg"
    assert version.parameters["refit_on_all_rows"] is True
    assert version.metrics["deployed_rows"] == 60
    assert [r[:3] for r in rows[1:]] == [["c1", "pt", "negative"], ["c2", "zh", "positive"]]
    assert err.splitlines() == [
        "no active sentiment model: training the linear one on the labelled reviews in the database first "
        "('train_models --only sentiment' trains every candidate)",
        f"trained nb-tfidf-logreg v{version.version} on 60 reviews (macro-F1 {version.metrics['macro_f1']} on its "
        "held-out part)",
    ]


def test_analyze_text_without_a_model_names_what_to_run(db, tmp_path):
    with pytest.raises(CommandError) as raised:
        _analyze(tmp_path, b"id,text\n1,bom\n")
    assert str(raised.value) == (
        "no active sentiment model, and none can be trained: need at least 20 labelled reviews with two "
        "sentiments to train a sentiment model; have 0: import some (import_olist DIR, or import_reviews FILE "
        "--language L --text-column C --label-column C); then run 'manage.py train_models --only sentiment'"
    )
    corpus_reviews()
    with pytest.raises(CommandError, match=r"run 'manage.py train_models --only sentiment'"):
        _analyze(tmp_path, b"id,text\n1,bom\n", "--no-train")
    assert not ModelVersion.objects.exists()


def _import(tmp_path, name: str, content: bytes, *args):
    path = tmp_path / name
    path.write_bytes(content)
    out = StringIO()
    call_command("import_reviews", str(path), *args, stdout=out)
    return out.getvalue().splitlines()


def test_import_reviews_rejects_only_the_rows_it_cannot_read(db, tmp_path):
    content = (
        b"\xef\xbb\xbfid,text,label,source\r\n"
        b'r1,"Chegou r\xc3\xa1pido,\r\nrecomendo",5,web\r\n'
        b"r2,P\xe9ssimo,1,web\r\n"
        b"r3,Bom,4\r\n"
        b"r4,Ok,3,web,,\r\n"
        b"r1,Again,5,web\r\n"
    )
    args = ["--language", "pt", "--text-column", "text", "--label-column", "label", "--id-column", "id"]
    assert _import(tmp_path, "shop.csv", content, *args) == [
        "shop.csv: read 5, created 2, updated 0, unchanged 0, rejected 3 (labels: stars)",
        "  rejected line 4 [text]: not valid UTF-8 (byte 0xe9); save the file as UTF-8 or pass --encoding latin-1",
        "  rejected line 5 [-]: has 3 field(s), the header has 4",
        "  rejected line 7 [id]: duplicate of line 2",
    ]
    assert list(Review.objects.order_by("external_id").values_list("external_id", "text", "score")) == [
        ("r1", "Chegou rápido,\r\nrecomendo", 5),
        ("r4", "Ok", 3),
    ]


def test_import_reviews_without_a_header_takes_columns_by_position(db, tmp_path):
    content = b"Review\nGreat phone.\t1\nBroke in a day.\t0\n"
    lines = _import(
        tmp_path,
        "amazon_cells_labelled.txt",
        content,
        "--language",
        "en",
        "--no-header",
        "--text-column",
        "1",
        "--label-column",
        "2",
        "--delimiter",
        "\\t",
    )
    assert lines == [
        "amazon_cells_labelled.txt: read 3, created 2, updated 0, unchanged 0, rejected 1 (labels: binary)",
        "  rejected line 1 [2]: label is empty",
    ]
    assert sorted(Review.objects.values_list("text", "label")) == [
        ("Broke in a day.", "negative"),
        ("Great phone.", "positive"),
    ]
    with pytest.raises(CommandError, match=r"without a header, columns are positions \(1, 2, \.\.\.\), not \['text'\]"):
        _import(
            tmp_path,
            "x.txt",
            b"a\t1\n",
            "--language",
            "en",
            "--no-header",
            "--text-column",
            "text",
            "--label-column",
            "2",
        )


def test_analyze_api_awkward_texts(trained_sentiment, api_client):
    response = api_client.post(
        "/api/v1/feedback/analyze/",
        {"texts": ["", "😀😀", "produto excelente " * 5_000, "很好吃"]},
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["language"]) for r in results] == [("0", "und"), ("1", "und"), ("2", "pt"), ("3", "zh")]
    assert (results[0]["sentiment"], results[0]["probability"]) == ("neutral", 1.0)
    assert results[2]["sentiment"] == "positive"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"items": [{"id": "a"}]}, {"items": {"0": {"text": ["This field is required."]}}}),
        ({"items": [{"id": "a", "text": None}]}, {"items": {"0": {"text": ["This field may not be null."]}}}),
        ({"texts": "just one string"}, {"texts": ['Expected a list of items but got type "str".']}),
        ({}, {"non_field_errors": ['send "texts" (a list of strings) or "items" (a list of {id, text})']}),
        ([], {"non_field_errors": ["no texts to analyse"]}),
    ],
)
def test_analyze_api_bad_requests_say_what_is_wrong(trained_sentiment, api_client, payload, expected):
    response = api_client.post("/api/v1/feedback/analyze/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == expected


def test_analyze_api_body_over_the_upload_limit_is_a_413_with_a_reason(trained_sentiment, api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = api_client.post("/api/v1/feedback/analyze/", {"texts": ["muito bom " * 200]}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "the request body is larger than 1,000 bytes; send fewer or shorter texts per request, "
        "or use the analyze_text command for files"
    }


def test_an_empty_text_is_neutral_for_sure_also_for_a_three_class_model():
    from feedback.ml.sentiment import LinearSentimentModel, SentimentParams

    texts = ["ótimo produto", "adorei muito", "péssimo, quebrou", "horrível", "normal, ok", "mais ou menos"] * 4
    labels = ["positive", "positive", "negative", "negative", "neutral", "neutral"] * 4
    model = LinearSentimentModel(SentimentParams(C=1.0, nb_weighting=False)).fit(texts, labels, ["pt"] * len(texts))
    prediction = model.predict_proba(["", "   "], ["und", "und"])
    assert prediction.labels == ["neutral", "neutral"]
    assert prediction.probabilities == [1.0, 1.0]
    assert prediction.distribution == [{"negative": 0.0, "neutral": 1.0, "positive": 0.0}] * 2


def test_a_binary_language_answers_negative_or_positive_even_when_unsure():
    from feedback.ml.sentiment import LinearSentimentModel, SentimentParams

    texts = ["ótimo produto", "adorei muito", "péssimo, quebrou", "horrível demais"] * 5
    labels = ["positive", "positive", "negative", "negative"] * 5
    unsure = ["chegou ontem", "o pacote", "produto"]
    model = LinearSentimentModel(SentimentParams(C=1.0, nb_weighting=False)).fit(texts, labels, ["pt"] * len(texts))
    prediction = model.predict_proba(unsure, ["pt"] * 3)
    assert max(prediction.probabilities) < 0.9
    assert set(prediction.labels) <= {"negative", "positive"}
    margin = LinearSentimentModel(SentimentParams(C=1.0, nb_weighting=False, neutral_margin=0.9))
    assert margin.fit(texts, labels, ["pt"] * len(texts)).predict(unsure, ["pt"] * 3) == ["neutral"] * 3


def test_tab_separated_sentences_keep_their_quotation_marks_as_text(db, tmp_path):
    content = b'"Loved it, said my friend.\t1\nA "so-called" thriller.\t0\nDull.\t0\n'
    args = ["--language", "en", "--no-header", "--text-column", "1", "--label-column", "2"]
    assert _import(tmp_path, "imdb.txt", content, *args) == [
        "imdb.txt: read 3, created 3, updated 0, unchanged 0, rejected 0 (labels: binary)"
    ]
    assert sorted(Review.objects.values_list("text", flat=True)) == [
        '"Loved it, said my friend.',
        'A "so-called" thriller.',
        "Dull.",
    ]
    # read as CSV, the unclosed quotation mark swallows the next line into the first sentence
    assert _import(tmp_path, "imdb.txt", content, *args, "--quoting", "csv")[0] == (
        "imdb.txt: read 2, created 1, updated 0, unchanged 1, rejected 0 (labels: binary)"
    )

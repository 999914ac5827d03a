"""Pure ml: language detection, Chinese tokenisation, label mapping, topics, suspicious reviews, templates."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from feedback.ml.language import LanguageGuess, detect_language, language_prior, routing_language
from feedback.ml.replies import fill_template, unknown_placeholders
from feedback.ml.sentiment import LinearSentimentModel, SentimentParams, _word_tokens, compose_text, score_to_label
from feedback.ml.suspicious import jaccard, near_duplicate_pairs, score_suspicious, shingles
from feedback.ml.topics import TopicKeywordRule, keyword_topics
from tests.feedback.factories import CORPUS


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("O produto chegou antes do prazo, recomendo a loja", "pt"),
        ("Não recebi o pedido até agora", "pt"),
        ("The item never arrived and the seller does not answer", "en"),
        ("Great product, works as described", "en"),
        ("送餐很快，味道也不错", "zh"),
        ("这个酒店的服务太差了", "zh"),
        ("El producto llegó roto y no funciona", "es"),
        ("商品が届きませんでした", "ja"),
        ("Товар не пришёл", "ru"),
        ("", "und"),
        ("12345 !!!", "und"),
    ],
)
def test_detect_language_on_clear_examples(text, language):
    assert detect_language(text).language == language


@pytest.mark.parametrize(
    "text",
    ["satisfeito", "Péssimo atendimento", "Tudo ocorreu perfeitamente.", "Vou continuar comprando"],
)
def test_short_portuguese_reviews_are_portuguese_without_any_prior(text):
    # each was "und" for the function-word profile: no listed word, no ã / õ / ç
    assert detect_language(text).language == "pt"


def test_a_prior_settles_short_texts_but_not_clear_evidence_for_another_language():
    store = {"pt": 9000, "zh": 1000}
    assert [detect_language(t, prior=store).language for t in ("Excelente", "Ok", "Top", "Amei")] == ["pt"] * 4
    assert detect_language("The parcel never arrived and nobody answers my emails", prior=store).language == "en"
    assert detect_language("El producto llegó roto y no funciona", prior=store).language == "es"
    assert detect_language("Ok", prior={"en": 1}).language == "en"
    # no letters: undetermined whatever the prior
    assert [detect_language(t, prior=store).language for t in ("10", "....", "")] == ["und"] * 3
    guess = detect_language("Excelente", prior=store)
    assert 0.5 < guess.confidence < 1


def test_an_uncertain_language_is_scored_by_the_pooled_part():
    assert routing_language(LanguageGuess("pt", 0.49)) == "und"
    assert routing_language(LanguageGuess("pt", 0.5)) == "pt"
    texts, labels, languages = _corpus()
    model = LinearSentimentModel(SentimentParams(min_language_rows=10)).fit(texts, labels, languages)
    # "Ok" is a coin toss between pt and en for this model's prior: its pooled part scores it
    assert detect_language("Ok", prior=model.language_prior()).confidence < 0.5
    prediction = model.predict_proba(["Ok", "O produto chegou quebrado e a loja não responde"])
    assert prediction.languages == ["und", "pt"]


def test_language_prior_is_the_share_of_each_known_language():
    assert language_prior({"pt": 30, "en": 10, "und": 60, "zh": 0}) == {"pt": 0.75, "en": 0.25}
    assert language_prior({"und": 5}) == {} == language_prior(None)


def test_chinese_is_tokenised_per_character_not_split_on_spaces():
    assert _word_tokens("送餐 很快") == ["送", "餐", "很", "快"]
    assert _word_tokens("没有送水没有送水") == ["没", "有", "送", "水", "没", "有", "送", "水"]


def test_negation_marks_the_next_two_words():
    assert _word_tokens("não gostei do produto") == ["não", "NEG_gostei", "NEG_do", "produto"]


def test_compose_text_works_when_title_or_text_is_missing():
    assert compose_text("Ótimo", None) == "Ótimo"
    assert compose_text(None, "chegou rápido") == "chegou rápido"
    assert compose_text("Ótimo", "chegou rápido") == "Ótimo. chegou rápido"
    assert compose_text("", float("nan")) == ""


@pytest.mark.parametrize(
    ("score", "label"),
    [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive"), (None, None)],
)
def test_score_to_label(score, label):
    assert score_to_label(score) == label


def _corpus():
    texts, labels, languages = [], [], []
    for language, by_label in CORPUS.items():
        for label, sentences in by_label.items():
            texts += sentences
            labels += [label] * len(sentences)
            languages += [language] * len(sentences)
    return texts, labels, languages


def test_linear_model_learns_each_language_and_handles_empty_text():
    texts, labels, languages = _corpus()
    model = LinearSentimentModel(SentimentParams(min_language_rows=10)).fit(texts, labels, languages)
    assert sorted(model.models_) == ["*", "en", "pt", "zh"]
    prediction = model.predict_proba(["produto péssimo, não chegou", "excellent, love it", "很好吃，很满意", ""])
    assert prediction.languages == ["pt", "en", "zh", "und"]
    # the languages it saw, by share of the training rows: the prior of its language detection
    counts = {lang: languages.count(lang) for lang in ("pt", "en", "zh")}
    assert model.language_prior() == {lang: n / len(languages) for lang, n in counts.items()}
    assert prediction.labels == ["negative", "positive", "positive", "neutral"]
    assert all(0.0 <= p <= 1.0 for p in prediction.probabilities)
    assert abs(sum(prediction.distribution[0].values()) - 1.0) < 1e-6


def test_keyword_topics_ignore_accents_and_match_chinese_without_spaces():
    rules = [
        TopicKeywordRule("not_delivered", "pt", "não recebi"),
        TopicKeywordRule("damaged_quality", "", "quebrad"),
        TopicKeywordRule("late_delivery", "zh", "太慢"),
    ]
    assert keyword_topics("Nao recebi ainda", "pt", rules) == {"not_delivered": ["não recebi"]}
    assert keyword_topics("Veio QUEBRADO", "en", rules) == {"damaged_quality": ["quebrad"]}
    assert keyword_topics("送餐太慢了", "zh", rules) == {"late_delivery": ["太慢"]}
    assert keyword_topics("tudo certo", "pt", rules) == {}


def test_near_duplicates_are_found_and_short_texts_ignored():
    texts = [
        "Produto chegou quebrado e a loja não responde aos contatos",
        "Produto chegou quebrado e a loja nao responde aos contatos!!",
        "Entrega super rápida, recomendo muito esta loja",
        "ótimo",
        "ótimo",
    ]
    pairs = near_duplicate_pairs(texts)
    assert [(a, b) for a, b, _ in pairs] == [(0, 1)]
    assert pairs[0][2] >= 0.8


def test_suspicious_scores_duplicates_bursts_and_contradictions():
    when = datetime(2018, 5, 1, 10, tzinfo=UTC)
    rows = [
        # 0,1: near-identical text by two customers
        dict(
            id=1,
            text="Produto maravilhoso, melhor compra da minha vida inteira",
            customer="a",
            product="p1",
            score=5,
            created_at=when,
            sentiment="positive",
            probability=0.9,
        ),
        dict(
            id=2,
            text="Produto maravilhoso, melhor compra da minha vida inteira!",
            customer="b",
            product="p1",
            score=5,
            created_at=when,
            sentiment="positive",
            probability=0.9,
        ),
        # 2: 5 stars but clearly negative text
        dict(
            id=3,
            text="horrível, veio quebrado",
            customer="c",
            product="p2",
            score=5,
            created_at=when,
            sentiment="negative",
            probability=0.95,
        ),
        # 3: same customer writing the same text twice is not suspicious
        dict(
            id=4,
            text="Entrega rápida e produto conforme o anúncio, obrigado",
            customer="d",
            product="p3",
            score=5,
            created_at=when,
            sentiment="positive",
            probability=0.9,
        ),
        dict(
            id=5,
            text="Entrega rápida e produto conforme o anúncio, obrigado",
            customer="d",
            product="p4",
            score=5,
            created_at=when,
            sentiment="positive",
            probability=0.9,
        ),
    ]
    scored = score_suspicious(pd.DataFrame(rows)).set_index("id")
    assert scored.loc[1, "reasons"] == ["near-duplicate (98% similar) of review 2 by another customer"]
    assert scored.loc[2, "reasons"] == ["near-duplicate (98% similar) of review 1 by another customer"]
    similarity = jaccard(shingles(rows[0]["text"], 5), shingles(rows[1]["text"], 5))
    assert scored.loc[1, "suspicious_score"] == round(0.6 * round(similarity, 3), 3)
    assert scored.loc[3, "reasons"] == ["rating 5★ contradicts negative text (p=0.95)"]
    assert scored.loc[3, "suspicious_score"] == 0.4
    assert scored.loc[4, "suspicious_score"] == 0.0
    assert scored.loc[5, "reasons"] == []


def test_burst_on_one_product_is_flagged():
    base = datetime(2018, 1, 1, tzinfo=UTC)
    rows = [
        dict(
            id=i,
            text=f"texto {i}",
            customer=str(i),
            product="p",
            score=5,
            created_at=base + pd.Timedelta(days=30 * i),
            sentiment="positive",
            probability=0.6,
        )
        for i in range(6)
    ]
    burst_day = base + pd.Timedelta(days=400)
    rows += [
        dict(
            id=100 + i,
            text=f"bom {i}",
            customer=f"x{i}",
            product="p",
            score=5,
            created_at=burst_day + pd.Timedelta(hours=i),
            sentiment="positive",
            probability=0.6,
        )
        for i in range(6)
    ]
    scored = score_suspicious(pd.DataFrame(rows)).set_index("id")
    assert scored.loc[[100, 101, 102, 103, 104, 105], "suspicious_score"].tolist() == [0.3] * 6
    assert scored.loc[[0, 1, 2, 3, 4, 5], "suspicious_score"].tolist() == [0.0] * 6
    assert scored.loc[100, "reasons"][0].startswith("burst: 6 reviews of product p within 24h")


def test_fill_template_fills_facts_and_marks_missing_ones():
    filled = fill_template(
        "Olá {customer_name}, o pedido {order_number} ({items}) estava previsto para {expected_delivery}. {delivered_on}",
        {
            "customer_name": "Ana",
            "order_number": "A-1",
            "items": "2 × Caneca",
            "expected_delivery": "2018-03-20",
            "delivered_on": "",
        },
    )
    assert filled.text == "Olá Ana, o pedido A-1 (2 × Caneca) estava previsto para 2018-03-20. [delivered_on]"
    assert filled.missing == ("delivered_on",)
    assert unknown_placeholders("Hi {custmer_name} {order_number}") == ["custmer_name"]


def test_keyword_matcher_gives_keyword_topics_hits_for_every_language():
    """The compiled matcher (phrases folded once) = the rule-by-rule definition, word starts included."""
    import re

    from feedback.ml.topics import default_keyword_rules, fold_text, keyword_matcher

    def reference(text, language, rules):
        folded, hits = fold_text(text), {}
        for rule in rules:
            phrase = fold_text(rule.phrase)
            if (rule.language and rule.language != language) or not phrase:
                continue
            if language in {"zh", "ja"} or re.search(r"[\u3400-\u9fff]", phrase):
                found = phrase in folded
            else:
                found = re.search(r"(?<!\w)" + re.escape(phrase), folded) is not None
            if found:
                hits.setdefault(rule.topic, []).append(rule.phrase)
        return hits

    rules = [*default_keyword_rules(), TopicKeywordRule("other", "", " "), TopicKeywordRule("wrong_item", "en", "a.b")]
    texts = [
        "Não recebi o produto, veio QUEBRADO e quero reembolso",
        "xreembolso sem quebradura",  # inside a word: no hit; at a word start: prefix hit
        "late delivery, refund please; a.b axb",
        "送餐太慢了，退款",
        "",
        "  ",
    ]
    for language in ("pt", "en", "zh", "ja", "es"):
        match = keyword_matcher(rules, language)
        for text in texts:
            assert match(fold_text(text)) == keyword_topics(text, language, rules) == reference(text, language, rules)

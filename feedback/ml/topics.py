"""Complaint topics, multi-label: learned where labelled data exists, operator-editable keywords elsewhere.

``TopicModel.fit`` learns one logistic regression per topic that has enough positive examples (from the
Olist ``olist_classified`` votes) on word + character TF-IDF plus keyword-hit features, with a decision
threshold chosen by cross-validation on the training rows. A learned topic applies to texts in the
language it was learned from; every other (topic, language) falls back to keyword matching. Keywords are
passed in at prediction time (the operators edit them in the admin), so a model never goes stale on them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

LATE_DELIVERY = "late_delivery"
NOT_DELIVERED = "not_delivered"
DAMAGED_QUALITY = "damaged_quality"
NOT_AS_DESCRIBED = "not_as_described"
WRONG_ITEM = "wrong_item"
SELLER_COMMUNICATION = "seller_communication"
PRICE_REFUND = "price_refund"
OTHER = "other"
TOPICS = (
    LATE_DELIVERY,
    NOT_DELIVERED,
    DAMAGED_QUALITY,
    NOT_AS_DESCRIBED,
    WRONG_ITEM,
    SELLER_COMMUNICATION,
    PRICE_REFUND,
    OTHER,
)
# How severe a topic is for the customer-service queue (0-1).
SEVERITY = {
    NOT_DELIVERED: 1.0,
    DAMAGED_QUALITY: 0.9,
    WRONG_ITEM: 0.85,
    PRICE_REFUND: 0.7,
    NOT_AS_DESCRIBED: 0.7,
    LATE_DELIVERY: 0.6,
    SELLER_COMMUNICATION: 0.5,
    OTHER: 0.3,
}
# olist_classified vote columns → our topics (antes_prazo and satisfeito are praise, not complaints).
OLIST_VOTE_COLUMNS = {
    "votes_atrasado": LATE_DELIVERY,
    "votes_entrega_parcial": NOT_DELIVERED,
    "votes_baixa_qualidade": DAMAGED_QUALITY,
    "votes_diferente_do_anunciado": NOT_AS_DESCRIBED,
    "votes_devolucao": PRICE_REFUND,
    "votes_outro_entrega": OTHER,
    "votes_outro_pedido": OTHER,
}

# Seed keywords, loaded into the TopicKeyword table on first use; operators edit them there.
DEFAULT_KEYWORDS: dict[str, dict[str, list[str]]] = {
    LATE_DELIVERY: {
        "pt": [
            "atraso",
            "atrasad",
            "fora do prazo",
            "demorou",
            "demora",
            "ainda não chegou",
            "depois do prazo",
            "prazo de entrega",
        ],
        "en": ["late", "delayed", "delay", "took too long", "still waiting", "slow delivery", "after the deadline"],
        "zh": ["太慢", "慢", "迟到", "晚了", "送餐慢", "等了", "延迟", "超时"],
    },
    NOT_DELIVERED: {
        "pt": [
            "não recebi",
            "nao recebi",
            "não chegou",
            "nao chegou",
            "faltou",
            "faltando",
            "veio só",
            "veio apenas",
            "apenas um",
            "só um",
            "incompleto",
            "não foi entregue",
            "nao foi entregue",
        ],
        "en": [
            "never arrived",
            "not delivered",
            "never received",
            "didn't receive",
            "did not receive",
            "missing",
            "only one",
            "incomplete",
            "lost package",
        ],
        "zh": ["没收到", "没有收到", "未收到", "少送", "漏送", "没送到", "丢件"],
    },
    DAMAGED_QUALITY: {
        "pt": [
            "quebrad",
            "danificad",
            "defeito",
            "estragad",
            "rasgad",
            "amassad",
            "péssima qualidade",
            "pessima qualidade",
            "baixa qualidade",
            "qualidade ruim",
            "não funciona",
            "nao funciona",
            "parou de funcionar",
        ],
        "en": [
            "broken",
            "damaged",
            "defective",
            "poor quality",
            "bad quality",
            "cheap",
            "stopped working",
            "doesn't work",
            "does not work",
            "cracked",
        ],
        "zh": ["坏了", "破损", "质量差", "质量不好", "做工差", "不能用", "漏了", "洒了"],
    },
    NOT_AS_DESCRIBED: {
        "pt": [
            "diferente do anunciado",
            "diferente da foto",
            "diferente do que",
            "não corresponde",
            "nao corresponde",
            "não é o mesmo",
            "propaganda enganosa",
            "menor que",
            "cor diferente",
        ],
        "en": [
            "not as described",
            "different from the picture",
            "not what i ordered",
            "misleading",
            "not as advertised",
            "smaller than",
        ],
        "zh": ["与描述不符", "和描述不符", "不符", "图片不一样", "货不对板"],
    },
    WRONG_ITEM: {
        "pt": [
            "produto errado",
            "veio errado",
            "item errado",
            "enviaram outro",
            "mandaram outro",
            "cor errada",
            "tamanho errado",
            "trocado",
        ],
        "en": ["wrong item", "wrong product", "wrong size", "wrong color", "sent the wrong", "received the wrong"],
        "zh": ["送错", "发错", "错了"],
    },
    SELLER_COMMUNICATION: {
        "pt": [
            "sem resposta",
            "não responde",
            "nao responde",
            "não respondem",
            "atendimento",
            "contato com",
            "entrei em contato",
            "ninguém",
            "descaso",
            "sac",
        ],
        "en": [
            "no response",
            "no reply",
            "customer service",
            "never responded",
            "contacted",
            "support",
            "unresponsive",
        ],
        "zh": ["客服", "态度差", "态度不好", "不理", "联系不上", "服务差"],
    },
    PRICE_REFUND: {
        "pt": [
            "reembolso",
            "estorno",
            "devolução",
            "devolucao",
            "devolver",
            "dinheiro de volta",
            "cobrança",
            "cobrado",
            "cancelamento",
            "cancelei",
            "caro",
        ],
        "en": ["refund", "money back", "return", "charged", "overcharged", "expensive", "cancel"],
        "zh": ["退款", "退钱", "太贵", "贵了", "价格", "退货"],
    },
    OTHER: {"pt": [], "en": [], "zh": []},
}


def fold_text(text: str) -> str:
    """Lower-case, NFKC, accents stripped (``não`` → ``nao``): keyword matching ignores accents."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", str(text or "")).lower())
    return re.sub(r"\s+", " ", "".join(c for c in text if not unicodedata.combining(c))).strip()


@dataclass(frozen=True)
class TopicKeywordRule:
    """One operator keyword: a topic, a language (``""`` for every language) and a phrase."""

    topic: str
    language: str
    phrase: str


def default_keyword_rules() -> list[TopicKeywordRule]:
    return [
        TopicKeywordRule(topic, language, phrase)
        for topic, by_language in DEFAULT_KEYWORDS.items()
        for language, phrases in by_language.items()
        for phrase in phrases
    ]


def keyword_topics(text: str, language: str, rules: list[TopicKeywordRule]) -> dict[str, list[str]]:
    """Topics whose keywords occur in ``text`` (prefix match at word starts, substring for Chinese)."""
    return keyword_matcher(rules, language)(fold_text(text))


def keyword_matcher(rules: list[TopicKeywordRule], language: str):
    """``keyword_topics`` for many texts of one ``language``: the rules' phrases are folded and compiled once;
    the returned function takes an already folded text (``fold_text``) and gives the same hits."""
    compiled = []
    for rule in rules:
        if rule.language and rule.language != language:
            continue
        phrase = fold_text(rule.phrase)
        if not phrase:
            continue
        if language in {"zh", "ja"} or re.search(r"[\u3400-\u9fff]", phrase):
            compiled.append((rule, phrase, None))
        else:
            compiled.append((rule, phrase, re.compile(r"(?<!\w)" + re.escape(phrase)).search))

    # a phrase can only match where it occurs as a substring: the cheap test first
    def match(folded: str) -> dict[str, list[str]]:
        hits: dict[str, list[str]] = {}
        for rule, phrase, search in compiled:
            if phrase in folded and (search is None or search(folded) is not None):
                hits.setdefault(rule.topic, []).append(rule.phrase)
        return hits

    return match


@dataclass(frozen=True)
class TopicPrediction:
    """Per text: the topics assigned, each topic's probability (1.0 for a keyword hit) and how it was decided."""

    topics: list[list[str]]
    scores: list[dict[str, float]]
    evidence: list[dict[str, str]]


def olist_topic_labels(frame: pd.DataFrame, *, min_votes: int = 2) -> pd.DataFrame:
    """One 0/1 column per topic from the olist_classified vote columns (a topic needs ``min_votes`` votes)."""
    labels = pd.DataFrame(0, index=frame.index, columns=list(TOPICS))
    for column, topic in OLIST_VOTE_COLUMNS.items():
        labels[topic] = labels[topic] | (frame[column].fillna(0) >= min_votes).astype(int)
    labels[[WRONG_ITEM, SELLER_COMMUNICATION]] = np.nan  # no labelled data: keywords only
    return labels


class TopicModel:
    """Multi-label complaint topics: per-topic logistic regressions (one language) + keyword fallback."""

    algorithm = "tfidf-logreg-ovr+keywords"

    def __init__(self, *, language: str = "pt", min_positives: int = 30, C: float = 4.0, seed: int = 0):
        self.language = language
        self.min_positives = min_positives
        self.C = C
        self.seed = seed

    def _features(
        self, texts: list[str], rules: list[TopicKeywordRule], *, fit: bool, folded: list[str] | None = None
    ) -> sparse.csr_matrix:
        """``folded``: ``fold_text`` of each text, when the caller has it already."""
        folded = [fold_text(t) for t in texts] if folded is None else folded
        if fit:
            self.word_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True)
            word, char = self.word_.fit_transform(folded), self.char_.fit_transform(folded)
        else:
            word, char = self.word_.transform(folded), self.char_.transform(folded)
        hits = np.zeros((len(texts), len(TOPICS)), dtype=np.float32)
        matcher = keyword_matcher(rules, self.language)
        for row, text in enumerate(folded):
            for topic in matcher(text):
                hits[row, TOPICS.index(topic)] = 1.0
        return sparse.hstack([word, char, sparse.csr_matrix(hits)], format="csr")

    def fit(self, texts: list[str], labels: pd.DataFrame, rules: list[TopicKeywordRule] | None = None):
        """``labels``: one column per topic, 0/1, NaN where that topic is not labelled."""
        rules = default_keyword_rules() if rules is None else rules
        X = self._features(list(texts), rules, fit=True)
        self.classifiers_: dict[str, LogisticRegression] = {}
        self.thresholds_: dict[str, float] = {}
        for topic in TOPICS:
            if topic not in labels or labels[topic].isna().all():
                continue
            y = labels[topic].fillna(0).astype(int).to_numpy()
            if y.sum() < self.min_positives:
                continue
            classifier = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=self.seed)
            oof = cross_val_predict(classifier, X, y, cv=folds, method="predict_proba")[:, 1]
            self.thresholds_[topic] = _best_threshold(y, oof)
            self.classifiers_[topic] = classifier.fit(X, y)
        return self

    @property
    def learned_topics(self) -> list[str]:
        return list(getattr(self, "classifiers_", {}))

    def predict(
        self, texts: list[str], languages: list[str], rules: list[TopicKeywordRule] | None = None
    ) -> TopicPrediction:
        rules = default_keyword_rules() if rules is None else rules
        texts = list(texts)
        topics: list[list[str]] = [[] for _ in texts]
        scores: list[dict[str, float]] = [{} for _ in texts]
        evidence: list[dict[str, str]] = [{} for _ in texts]
        folded = [fold_text(t) for t in texts]
        own = [i for i, lang in enumerate(languages) if lang == self.language and texts[i]]
        if own and self.learned_topics:
            X = self._features([texts[i] for i in own], rules, fit=False, folded=[folded[i] for i in own])
            for topic, classifier in self.classifiers_.items():
                probabilities = classifier.predict_proba(X)[:, 1]
                for row, index in enumerate(own):
                    scores[index][topic] = round(float(probabilities[row]), 4)
                    if probabilities[row] >= self.thresholds_[topic]:
                        topics[index].append(topic)
                        evidence[index][topic] = "model"
        matchers: dict[str, object] = {}
        for index, text in enumerate(folded):
            learned_here = self.learned_topics if languages[index] == self.language else []
            if languages[index] not in matchers:
                matchers[languages[index]] = keyword_matcher(rules, languages[index])
            for topic, phrases in matchers[languages[index]](text).items():
                if topic in learned_here:
                    continue
                scores[index][topic] = 1.0
                if topic not in topics[index]:
                    topics[index].append(topic)
                    evidence[index][topic] = "keyword: " + ", ".join(phrases[:3])
            topics[index].sort(key=TOPICS.index)
        return TopicPrediction(topics=topics, scores=scores, evidence=evidence)


def _best_threshold(y: np.ndarray, probabilities: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.2, 0.85, 0.05):
        predicted = probabilities >= threshold
        tp = float((predicted & (y == 1)).sum())
        precision = tp / max(predicted.sum(), 1)
        recall = tp / max((y == 1).sum(), 1)
        f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best, best_f1 = float(round(threshold, 2)), f1
    return best

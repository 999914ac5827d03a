"""Key phrases per group (product, seller): the n-grams that distinguish a group's reviews from the rest.

Score = (group frequency share) × log(corpus documents / documents containing the phrase), over words
(1-2 grams, stop words removed) for alphabetic languages and character 2-3 grams for Chinese.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from .topics import fold_text

STOP_WORDS = frozenset(
    [
        "a",
        "o",
        "e",
        "de",
        "do",
        "da",
        "dos",
        "das",
        "em",
        "no",
        "na",
        "nos",
        "nas",
        "um",
        "uma",
        "uns",
        "umas",
        "por",
        "para",
        "com",
        "que",
        "nao",
        "se",
        "os",
        "as",
        "ao",
        "aos",
        "mais",
        "mas",
        "muito",
        "ja",
        "foi",
        "ser",
        "sao",
        "esta",
        "estava",
        "tem",
        "ter",
        "meu",
        "minha",
        "eu",
        "ele",
        "ela",
        "isso",
        "esse",
        "essa",
        "este",
        "esta",
        "the",
        "a",
        "an",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "it",
        "this",
        "that",
        "to",
        "of",
        "in",
        "for",
        "on",
        "with",
        "not",
        "no",
        "but",
        "my",
        "i",
        "you",
        "be",
        "have",
        "has",
        "very",
        "so",
        "at",
        "as",
        "by",
        "from",
        "just",
        "all",
        "one",
    ]
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _analyzer(text: str) -> list[str]:
    folded = fold_text(text)
    grams: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+", folded):
        grams += [run[i : i + n] for n in (2, 3) for i in range(len(run) - n + 1)]
    words = [w for w in re.findall(r"[^\W\d_]{2,}", _CJK.sub(" ", folded))]
    grams += [w for w in words if w not in STOP_WORDS]
    grams += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not (a in STOP_WORDS and b in STOP_WORDS)]
    return grams


def key_phrases(frame: pd.DataFrame, *, group: str, text: str = "text", top_n: int = 10, min_count: int = 2) -> dict:
    """``{group value: [(phrase, score), ...]}`` for every group in ``frame``."""
    frame = frame[frame[text].fillna("").astype(str).str.strip().ne("")]
    if frame.empty:
        return {}
    vectorizer = CountVectorizer(analyzer=_analyzer, min_df=1)
    counts = vectorizer.fit_transform(frame[text].astype(str))
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    document_frequency = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1
    result = {}
    keys = frame[group].to_numpy()
    for value in pd.unique(keys):
        rows = counts[np.flatnonzero(keys == value)]
        totals = np.asarray(rows.sum(axis=0)).ravel()
        if not totals.sum():
            continue
        weights = totals / totals.sum() * idf
        weights[totals < min(min_count, rows.shape[0])] = 0
        best = np.lexsort((vocabulary, -np.round(weights, 9)))[:top_n]  # ties: alphabetical
        result[value] = [(str(vocabulary[i]), round(float(weights[i]), 4)) for i in best if weights[i] > 0]
    return result

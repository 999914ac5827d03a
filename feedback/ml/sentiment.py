"""Review sentiment (negative / neutral / positive) with probabilities, one model per language.

Two estimators share one interface (``fit(texts, labels, languages)``, ``predict_proba`` → ``SentimentPrediction``):

- ``LinearSentimentModel``: TF-IDF of words (1-2) and characters (1-5; Chinese: 1-3 over the raw characters,
  never split on spaces) reweighted by naive-Bayes log-count ratios (NB-LR), then a logistic regression.
- ``NeuralSentimentModel``: a fastText-style network in torch, an embedding bag over the same kind of n-gram
  features, trained on CUDA when present; inference is a sparse matrix product in numpy (no torch needed).
- ``EnsembleSentimentModel``: the average of the two fitted models' probabilities.

A separate model is fitted for every language with enough examples, plus a pooled one for the rest.
Languages labelled only negative/positive give ``neutral`` when the top probability is below
``neutral_margin``. ``baseline_char_tfidf`` is the reference every model must beat in the benchmark.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .language import detect_languages

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS = (NEGATIVE, NEUTRAL, POSITIVE)
POOLED = "*"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")
_NEGATIONS = {"não", "nao", "nunca", "nem", "not", "no", "never", "nothing", "don't", "didn't", "isn't", "wasn't"}


def compose_text(title: str | None, text: str | None) -> str:
    """One text from an optional title and an optional body (either may be missing)."""
    parts = [part.strip() for part in (title, text) if part and str(part).strip() and str(part) != "nan"]
    return ". ".join(parts)


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).lower()
    return _SPACES.sub(" ", text).strip()


def _word_tokens(text: str) -> list[str]:
    """Words for Latin scripts, single characters for Han (words are not space-separated in Chinese);
    a negation marks the next two words (``não gostei`` → ``NEG_gostei``)."""
    tokens: list[str] = []
    negate = 0
    for token in re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+(?:'[a-z]+)?|[!?]", text):
        if token in _NEGATIONS:
            tokens.append(token)
            negate = 2
            continue
        tokens.append(f"NEG_{token}" if negate else token)
        negate = max(0, negate - 1)
    return tokens


def _is_chinese(language: str) -> bool:
    return language in {"zh", "ja"}


def _vectorizers(language: str, *, min_df: int) -> list[TfidfVectorizer]:
    if _is_chinese(language):
        return [
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=min_df, sublinear_tf=True, max_features=300_000)
        ]
    return [
        TfidfVectorizer(
            analyzer=_word_tokens, ngram_range=(1, 1), min_df=min_df, sublinear_tf=True, max_features=200_000
        ),
        TfidfVectorizer(
            tokenizer=_word_tokens,
            token_pattern=None,
            lowercase=False,
            ngram_range=(2, 3),
            min_df=min_df,
            sublinear_tf=True,
            max_features=200_000,
        ),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), min_df=min_df, sublinear_tf=True, max_features=300_000),
    ]


class _Features:
    """A fitted list of vectorizers whose outputs are stacked side by side."""

    def __init__(self, language: str, *, min_df: int = 2):
        self.language = language
        self.vectorizers = _vectorizers(language, min_df=min_df)

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([v.fit_transform(texts) for v in self.vectorizers], format="csr", dtype=np.float32)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([v.transform(texts) for v in self.vectorizers], format="csr", dtype=np.float32)


@dataclass(frozen=True)
class SentimentPrediction:
    """Per text: the label, its probability, and the probability of every label."""

    labels: list[str]
    probabilities: list[float]
    distribution: list[dict[str, float]]
    languages: list[str]


@dataclass(frozen=True)
class SentimentParams:
    """Hyper-parameters shared by the estimators."""

    C: float | None = None  # None: chosen by cross-validation per language
    min_df: int = 1
    min_language_rows: int = 200
    neutral_margin: float = 0.6
    nb_weighting: bool = True
    # neural
    embedding_dim: int = 64
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 0.01
    seed: int = 13


def _nb_ratio(X: sparse.csr_matrix, y: np.ndarray, classes: list[str]) -> np.ndarray:
    """Naive-Bayes log-count ratio per feature (Wang & Manning 2012), one vector scaled to mean |r| = 1."""
    alpha = 1.0
    if NEGATIVE in classes and POSITIVE in classes:
        positive = np.asarray(X[y == POSITIVE].sum(axis=0)).ravel() + alpha
        negative = np.asarray(X[y == NEGATIVE].sum(axis=0)).ravel() + alpha
        ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
        ratio = np.abs(ratio)
        return (ratio / max(ratio.mean(), 1e-9)).astype(np.float32)
    return np.ones(X.shape[1], dtype=np.float32)


@dataclass
class _LanguageModel:
    features: _Features
    scale: np.ndarray
    classifier: object
    classes: list[str]


class _PerLanguageModel:
    """Shared plumbing: split by language, fit one sub-model per language, route predictions."""

    algorithm = "abstract"

    def __init__(self, params: SentimentParams | None = None):
        self.params = params or SentimentParams()

    # -- training
    def fit(self, texts: list[str], labels: list[str], languages: list[str] | None = None):
        texts = [normalize_text(t) for t in texts]
        labels_array = np.asarray(labels, dtype=object)
        unknown = set(labels_array) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown sentiment labels {sorted(unknown)}; expected {LABELS}")
        langs = np.asarray(languages if languages is not None else detect_languages(texts), dtype=object)
        self.models_: dict[str, _LanguageModel] = {}
        counts: dict[str, int] = {}
        for lang in langs:
            counts[lang] = counts.get(lang, 0) + 1
        for lang, count in sorted(counts.items()):
            mask = langs == lang
            if count >= self.params.min_language_rows and len(set(labels_array[mask])) >= 2:
                self.models_[lang] = self._fit_one(
                    lang, [t for t, m in zip(texts, mask, strict=True) if m], labels_array[mask]
                )
        if len(set(labels_array)) >= 2:
            self.models_[POOLED] = self._fit_one(POOLED, texts, labels_array)
        self.training_rows_ = {lang: int(count) for lang, count in counts.items()}
        return self

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        raise NotImplementedError

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    # -- prediction
    def predict_proba(self, texts: list[str], languages: list[str] | None = None) -> SentimentPrediction:
        texts = [normalize_text(t) for t in texts]
        langs = list(languages) if languages is not None else detect_languages(texts)
        return self._finalize(texts, self._distributions(texts, langs), langs)

    def _distributions(self, texts: list[str], langs: list[str]) -> list[dict[str, float]]:
        distribution: list[dict[str, float]] = [{} for _ in texts]
        groups: dict[str, list[int]] = {}
        for index, lang in enumerate(langs):
            key = lang if lang in self.models_ else POOLED
            groups.setdefault(key, []).append(index)
        for key, indexes in groups.items():
            model = self.models_[key]
            X = model.features.transform([texts[i] for i in indexes]).multiply(model.scale).tocsr()
            probabilities = self._scores(model, X)
            for row, index in enumerate(indexes):
                distribution[index] = {c: float(p) for c, p in zip(model.classes, probabilities[row], strict=True)}
        return distribution

    def _finalize(
        self, texts: list[str], distribution: list[dict[str, float]], langs: list[str]
    ) -> SentimentPrediction:
        labels, top = [], []
        for index, dist in enumerate(distribution):
            label = max(dist, key=dist.get)
            probability = dist[label]
            if not texts[index]:
                label, probability = NEUTRAL, dist.get(NEUTRAL, 1.0)
            elif NEUTRAL not in dist and probability < self.params.neutral_margin:
                label, probability = NEUTRAL, 1.0 - abs(dist.get(POSITIVE, 0.5) - dist.get(NEGATIVE, 0.5))
            for name in LABELS:
                dist.setdefault(name, 0.0)
            labels.append(label)
            top.append(round(float(probability), 4))
        return SentimentPrediction(labels=labels, probabilities=top, distribution=distribution, languages=langs)

    def predict(self, texts: list[str], languages: list[str] | None = None) -> list[str]:
        return self.predict_proba(texts, languages).labels

    def positive_score(self, texts: list[str], languages: list[str] | None = None) -> np.ndarray:
        """P(positive) - P(negative): the ranking score used for binary evaluation."""
        prediction = self.predict_proba(texts, languages)
        return np.array([d[POSITIVE] - d[NEGATIVE] for d in prediction.distribution])

    def predict_binary(self, texts: list[str], languages: list[str] | None = None) -> list[str]:
        return [POSITIVE if s >= 0 else NEGATIVE for s in self.positive_score(texts, languages)]


class LinearSentimentModel(_PerLanguageModel):
    """NB-weighted word + character TF-IDF and a logistic regression, per language."""

    algorithm = "nb-tfidf-logreg"

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        features = _Features(language, min_df=self.params.min_df)
        X = features.fit_transform(texts)
        classes = sorted(set(y))
        scale = _nb_ratio(X, y, classes) if self.params.nb_weighting else np.ones(X.shape[1], dtype=np.float32)
        X = X.multiply(scale).tocsr()
        if self.params.C is None and len(y) >= 300:
            # regularisation chosen per language by 3-fold cross-validation on the training rows
            import warnings

            from sklearn.linear_model import LogisticRegressionCV

            search = LogisticRegressionCV(
                Cs=[1.0, 4.0, 16.0, 64.0], cv=3, max_iter=2000, class_weight="balanced", scoring="accuracy"
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                search.fit(X, y)
            chosen = float(np.atleast_1d(search.C_)[0])
        else:
            chosen = self.params.C or 8.0
        classifier = LogisticRegression(C=chosen, max_iter=2000, class_weight="balanced")
        classifier.fit(X, y)
        self.chosen_C_ = {**getattr(self, "chosen_C_", {}), language: chosen}
        return _LanguageModel(features=features, scale=scale, classifier=classifier, classes=list(classifier.classes_))

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        return model.classifier.predict_proba(X)


@dataclass
class _NumpyNetwork:
    """The trained network's weights as numpy arrays: embedding bag (sum) → tanh → linear → softmax."""

    embedding: np.ndarray
    hidden_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    history: list[float] = field(default_factory=list)

    def predict_proba(self, X: sparse.csr_matrix) -> np.ndarray:
        hidden = np.tanh(X @ self.embedding + self.hidden_bias)
        logits = hidden @ self.output + self.output_bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


class NeuralSentimentModel(_PerLanguageModel):
    """fastText-style embedding-bag network in torch over NB-weighted n-gram features."""

    algorithm = "torch-embedding-bag"

    def __init__(self, params: SentimentParams | None = None, *, device: str | None = None):
        super().__init__(params)
        self.device = device

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        import torch

        from ecomops.torch_device import torch_device  # noqa: I001 - pure helper, no Django

        device = torch.device(self.device) if self.device else torch_device()
        self.device_used_ = str(device)
        torch.manual_seed(self.params.seed)
        rng = np.random.default_rng(self.params.seed)
        features = _Features(language, min_df=self.params.min_df)
        X = features.fit_transform(texts)
        classes = sorted(set(y))
        scale = _nb_ratio(X, y, classes) if self.params.nb_weighting else np.ones(X.shape[1], dtype=np.float32)
        X = X.multiply(scale).tocsr().astype(np.float32)
        target = np.array([classes.index(label) for label in y])
        counts = np.bincount(target, minlength=len(classes)).astype(np.float32)
        class_weight = torch.tensor(counts.sum() / (len(classes) * np.maximum(counts, 1)), device=device)

        bag = torch.nn.EmbeddingBag(X.shape[1], self.params.embedding_dim, mode="sum", sparse=True).to(device)
        torch.nn.init.normal_(bag.weight, std=0.05)
        hidden_bias = torch.nn.Parameter(torch.zeros(self.params.embedding_dim, device=device))
        head = torch.nn.Linear(self.params.embedding_dim, len(classes)).to(device)
        dropout = torch.nn.Dropout(0.3)
        sparse_optimizer = torch.optim.SparseAdam(list(bag.parameters()), lr=self.params.learning_rate)
        optimizer = torch.optim.Adam([hidden_bias, *head.parameters()], lr=self.params.learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)
        history = []
        for _epoch in range(self.params.epochs):
            order = rng.permutation(X.shape[0])
            total = 0.0
            for start in range(0, len(order), self.params.batch_size):
                rows = X[order[start : start + self.params.batch_size]]
                indices = torch.as_tensor(rows.indices, dtype=torch.long, device=device)
                offsets = torch.as_tensor(rows.indptr[:-1], dtype=torch.long, device=device)
                weights = torch.as_tensor(rows.data, dtype=torch.float32, device=device)
                batch_target = torch.as_tensor(target[order[start : start + self.params.batch_size]], device=device)
                hidden = torch.tanh(dropout(bag(indices, offsets, per_sample_weights=weights)) + hidden_bias)
                loss = loss_fn(head(hidden), batch_target)
                optimizer.zero_grad()
                sparse_optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                sparse_optimizer.step()
                total += float(loss.detach()) * len(rows.indptr[:-1])
            history.append(round(total / X.shape[0], 5))
        network = _NumpyNetwork(
            embedding=bag.weight.detach().cpu().numpy(),
            hidden_bias=hidden_bias.detach().cpu().numpy(),
            output=head.weight.detach().cpu().numpy().T.copy(),
            output_bias=head.bias.detach().cpu().numpy(),
            history=history,
        )
        return _LanguageModel(features=features, scale=scale, classifier=network, classes=classes)

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        return model.classifier.predict_proba(X)


class EnsembleSentimentModel(_PerLanguageModel):
    """The average of fitted members' probabilities (the NB-TF-IDF model and the torch network)."""

    algorithm = "ensemble(nb-tfidf-logreg+torch-embedding-bag)"

    def __init__(self, members: list[_PerLanguageModel], params: SentimentParams | None = None):
        super().__init__(params or members[0].params)
        self.members = members
        self.models_ = {key: None for member in members for key in member.models_}
        self.device_used_ = getattr(members[-1], "device_used_", "cpu")

    def fit(self, texts, labels, languages=None):
        for member in self.members:
            member.fit(texts, labels, languages)
        self.models_ = {key: None for member in self.members for key in member.models_}
        return self

    def _distributions(self, texts: list[str], langs: list[str]) -> list[dict[str, float]]:
        per_member = [member._distributions(texts, langs) for member in self.members]
        averaged = []
        for index in range(len(texts)):
            keys = set().union(*(d[index] for d in per_member))
            averaged.append({k: sum(d[index].get(k, 0.0) for d in per_member) / len(per_member) for k in keys})
        return averaged


class BaselineCharTfidf(_PerLanguageModel):
    """The reference: character n-gram (2-4, within words) TF-IDF + logistic regression, same per-language split."""

    algorithm = "baseline-char-tfidf-logreg"

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        features = _Features(language)
        features.vectorizers = [TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)]
        X = features.fit_transform(texts)
        classifier = LogisticRegression(max_iter=1000)
        classifier.fit(X, y)
        return _LanguageModel(
            features=features,
            scale=np.ones(X.shape[1], dtype=np.float32),
            classifier=classifier,
            classes=list(classifier.classes_),
        )

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        return model.classifier.predict_proba(X)


def score_to_label(score: int | float | None) -> str | None:
    """Olist-style 1-5 stars: 1-2 negative, 3 neutral, 4-5 positive."""
    if score is None or (isinstance(score, float) and np.isnan(score)):
        return None
    score = int(score)
    if score <= 2:
        return NEGATIVE
    if score == 3:
        return NEUTRAL
    return POSITIVE

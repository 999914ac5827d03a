"""Review sentiment (negative / neutral / positive) with probabilities, one model per language.

Two estimators share one interface (``fit(texts, labels, languages)``, ``predict_proba`` → ``SentimentPrediction``):

- ``LinearSentimentModel``: TF-IDF of words (1-3) and characters (1-5, within and across words); for Chinese
  characters 1-4 plus jieba words 1-2 (never split on spaces), optionally reweighted by naive-Bayes log-count
  ratios (NB-LR), then a logistic regression. Weighting and C are chosen per language by k-fold cross-validation
  on the training rows (NB ratios recomputed inside each fold); the chosen setting's out-of-fold logits fit a
  temperature (``calibration_``: T, ECE before/after), so its probabilities are calibrated too.
- ``NeuralSentimentModel``: a fastText-style network in torch, an embedding bag over the same n-gram features
  (shared with the linear model when given one), trained on CUDA when present; its probabilities are calibrated
  by temperature scaling on a validation part of the training rows (``calibration_``: T, ECE before/after);
  inference is a sparse matrix product in numpy (no torch needed).
- ``EnsembleSentimentModel``: the average of the two fitted models' calibrated probabilities (features computed once
  when the members share them).

A separate model is fitted for every language with enough examples, plus a pooled one for the rest.
A language labelled only negative/positive answers one of those two (its calibrated probability says how sure):
a model that never saw a neutral example cannot tell neutral from unsure, and answering ``neutral`` below a
confidence margin turned 3-13 % of the held-out texts of binary sets into errors; ``neutral_margin`` brings that
rule back for whoever wants it. An empty text is neutral. ``baseline_char_tfidf`` is the reference every model must beat in the benchmark.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .language import detect_language, detect_languages, language_prior, routing_language

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


def _chinese_words(text: str) -> list[str]:
    """jieba words (its dictionary ships inside the package, nothing is downloaded) and word bigrams."""
    import jieba

    if not jieba.dt.initialized:
        import logging

        jieba.setLogLevel(logging.WARNING)
    words = [w for w in jieba.lcut(text) if not w.isspace()]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _vectorizers(language: str, *, min_df: int) -> list[TfidfVectorizer]:
    if _is_chinese(language):
        return [
            TfidfVectorizer(analyzer="char", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=400_000),
            TfidfVectorizer(analyzer=_chinese_words, min_df=min_df, sublinear_tf=True, max_features=300_000),
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
        TfidfVectorizer(analyzer="char", ngram_range=(1, 5), min_df=2, sublinear_tf=True, max_features=300_000),
    ]


class _Features:
    """A fitted list of vectorizers whose outputs are stacked side by side."""

    def __init__(self, language: str, *, min_df: int = 2):
        self.language = language
        self.vectorizers = _vectorizers(language, min_df=min_df)

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        if len(texts) < 1000:  # a small corpus keeps every n-gram (min_df=2 could leave nothing)
            for vectorizer in self.vectorizers:
                vectorizer.min_df = 1
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
    neutral_margin: float | None = None  # binary languages: top probability below it answers neutral (None: never)
    # None: NB-weighted or plain TF-IDF, whichever cross-validates better per language (with C)
    nb_weighting: bool | None = None
    cv_folds: int = 3
    # None: every row counts the same, which maximises accuracy (balanced weights trade it for minority recall)
    class_weight: str | None = None
    # neural
    embedding_dim: int = 64
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 0.01
    calibration_share: float = 0.1  # training rows kept for early stopping and temperature scaling
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
    temperature: float = 1.0  # the linear model's, fitted on out-of-fold logits (the network keeps its own)


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
        self.training_rows_ = {lang: int(count) for lang, count in counts.items()}
        for lang, count in sorted(counts.items()):
            mask = langs == lang
            if count >= self.params.min_language_rows and len(set(labels_array[mask])) >= 2:
                self.models_[lang] = self._fit_one(
                    lang, [t for t, m in zip(texts, mask, strict=True) if m], labels_array[mask]
                )
        if len(self.models_) == 1 and len(counts) == 1:  # one language: its model is the pooled one too
            self.models_[POOLED] = next(iter(self.models_.values()))
        elif len(set(labels_array)) >= 2:
            self.models_[POOLED] = self._fit_one(POOLED, texts, labels_array)
        return self

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        raise NotImplementedError

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    # -- prediction
    def language_prior(self) -> dict[str, float]:
        """Shares of the languages this model was trained on: the prior that settles short Latin texts."""
        rows = getattr(self, "training_rows_", None)
        if rows is None and getattr(self, "members", None):  # an ensemble: its members saw the same rows
            rows = getattr(self.members[0], "training_rows_", None)
        return language_prior(rows)

    def predict_proba(self, texts: list[str], languages: list[str] | None = None) -> SentimentPrediction:
        texts = [normalize_text(t) for t in texts]
        if languages is None:  # detected; an uncertain one is scored by the pooled part (see ``routing_language``)
            prior = self.language_prior()
            languages = [routing_language(detect_language(text, prior=prior)) for text in texts]
        langs = list(languages)
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
            if not texts[index]:  # nothing was said: neutral for sure, whatever the classes of the model
                dist = distribution[index] = {NEGATIVE: 0.0, NEUTRAL: 1.0, POSITIVE: 0.0}
                label, probability = NEUTRAL, 1.0
            elif NEUTRAL not in dist and self.params.neutral_margin and probability < self.params.neutral_margin:
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

    def refit(self, texts: list[str], labels: list[str], languages: list[str] | None = None) -> LinearSentimentModel:
        """A new model fitted on ``texts`` (typically the training and held-out rows together) with the weighting,
        C and temperature this model chose per language by cross-validation: one fit per language, no search."""
        fixed = {
            lang: (self.chosen_weighting_[lang] == "nb", self.chosen_C_[lang], model.temperature)
            for lang, model in self.models_.items()
            if lang in getattr(self, "chosen_C_", {})
        }
        refitted = LinearSentimentModel(self.params)
        refitted.fixed_ = fixed
        refitted.fit(texts, labels, languages)
        refitted.calibration_ = getattr(self, "calibration_", {})
        refitted.cv_scores_ = getattr(self, "cv_scores_", {})
        return refitted

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        features = _Features(language, min_df=self.params.min_df)
        X = features.fit_transform(texts)
        classes = sorted(set(y))
        weighting, chosen = self.params.nb_weighting, self.params.C
        fixed = getattr(self, "fixed_", {}).get(language)
        if language == POOLED and fixed is None and getattr(self, "chosen_C_", None):
            # the fallback for other languages takes the settings of the largest language instead of a search over
            # every row again (which doubled the training time of a store with several languages)
            largest = max(self.chosen_C_, key=lambda lang: self.training_rows_.get(lang, 0))
            fixed = (
                self.chosen_weighting_[largest] == "nb",
                self.chosen_C_[largest],
                self.models_[largest].temperature,
            )
        if fixed is not None:
            weighting, chosen, _ = fixed
        out_of_fold = None
        if (weighting is None or chosen is None) and len(y) >= 300:
            scores, logits = _cross_validate(X, y, classes, self.params)
            weighting, chosen = max(scores, key=scores.get)
            out_of_fold = logits.get((weighting, chosen))
            self.cv_scores_ = {**getattr(self, "cv_scores_", {}), language: scores}
        weighting = True if weighting is None else weighting
        chosen = chosen or 8.0
        scale = _nb_ratio(X, y, classes) if weighting else np.ones(X.shape[1], dtype=np.float32)
        classifier = LogisticRegression(C=chosen, max_iter=2000, class_weight=self.params.class_weight)
        classifier.fit(X.multiply(scale).tocsr(), y)
        self.chosen_C_ = {**getattr(self, "chosen_C_", {}), language: chosen}
        self.chosen_weighting_ = {**getattr(self, "chosen_weighting_", {}), language: "nb" if weighting else "tfidf"}
        temperature = fixed[2] if fixed is not None else 1.0
        if out_of_fold is not None:  # temperature scaling on the chosen setting's out-of-fold logits
            target = np.searchsorted(classes, y)
            temperature = fit_temperature(out_of_fold, target)
            self.calibration_ = {
                **getattr(self, "calibration_", {}),
                language: {
                    "temperature": round(temperature, 4),
                    "ece_before": round(expected_calibration_error(_softmax(out_of_fold), target), 4),
                    "ece_after": round(expected_calibration_error(_softmax(out_of_fold / temperature), target), 4),
                    "validation_rows": len(y),
                    "cv_folds": self.params.cv_folds,
                },
            }
        return _LanguageModel(
            features=features,
            scale=scale,
            classifier=classifier,
            classes=list(classifier.classes_),
            temperature=temperature,
        )

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        return _softmax(_logits(model.classifier, X) / getattr(model, "temperature", 1.0))


def _logits(classifier: LogisticRegression, X: sparse.csr_matrix) -> np.ndarray:
    """Per-class logits whose softmax is the logistic regression's ``predict_proba`` (binary: [0, d])."""
    decision = classifier.decision_function(X)
    return np.column_stack([np.zeros_like(decision), decision]) if decision.ndim == 1 else decision


def _validation_mask(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A stratified random part of the training rows (never the caller's held-out rows) for choices."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for label in sorted(set(y)):
        rows = np.flatnonzero(y == label)
        mask[rng.choice(rows, size=int(round(len(rows) * share)), replace=False)] = True
    return mask


# NB-weighted features are rescaled to mean |r| = 1 and need more regularisation than plain TF-IDF
_C_GRID = {True: (0.5, 1.0, 2.0, 4.0), False: (1.0, 4.0, 16.0, 32.0)}


def _cross_validate(
    X: sparse.csr_matrix, y: np.ndarray, classes: list[str], params: SentimentParams
) -> tuple[dict[tuple[bool, float], float], dict[tuple[bool, float], np.ndarray]]:
    """Mean accuracy and out-of-fold logits per (NB weighting, C) over ``cv_folds`` stratified folds.

    The NB ratios are recomputed on each fold's training part, so the validation rows' labels never shape
    their own features. A fixed ``params.nb_weighting`` or ``params.C`` narrows the grid to that value."""
    from sklearn.model_selection import StratifiedKFold

    weightings = (True, False) if params.nb_weighting is None else (params.nb_weighting,)
    folds = StratifiedKFold(params.cv_folds, shuffle=True, random_state=params.seed)
    scores: dict[tuple[bool, float], float] = {}
    logits: dict[tuple[bool, float], np.ndarray] = {}
    covered: dict[tuple[bool, float], int] = {}
    for train, valid in folds.split(np.zeros(len(y)), y):
        for weighting in weightings:
            scale = _nb_ratio(X[train], y[train], classes) if weighting else np.ones(X.shape[1], dtype=np.float32)
            X_train, X_valid = X[train].multiply(scale).tocsr(), X[valid].multiply(scale).tocsr()
            # the grid's C values ascend: each fit starts from the previous, less regularised solution (the same
            # convex optimum, reached in fewer iterations); the logits are read before the next fit moves them
            classifier = LogisticRegression(max_iter=2000, class_weight=params.class_weight, warm_start=True)
            for C in (params.C,) if params.C else _C_GRID[weighting]:
                classifier.set_params(C=C)
                classifier.fit(X_train, y[train])
                key = (weighting, C)
                accuracy = float((classifier.predict(X_valid) == y[valid]).mean())
                scores[key] = scores.get(key, 0.0) + accuracy / params.cv_folds
                fold_logits = _logits(classifier, X_valid)
                if fold_logits.shape[1] == len(classes):  # a fold lacking a class leaves that setting uncalibrated
                    logits.setdefault(key, np.zeros((len(y), len(classes))))[valid] = fold_logits
                    covered[key] = covered.get(key, 0) + 1
    logits = {key: value for key, value in logits.items() if covered[key] == params.cv_folds}
    return {key: round(value, 5) for key, value in scores.items()}, logits


def expected_calibration_error(probabilities: np.ndarray, target: np.ndarray, bins: int = 10) -> float:
    """Mean |confidence - accuracy| of the predicted class over equal-width confidence bins, weighted by bin size.

    ``probabilities``: rows of class probabilities; ``target``: the index of the true class per row."""
    probabilities = np.asarray(probabilities, dtype=float)
    if len(probabilities) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(target)
    edges = np.linspace(1.0 / probabilities.shape[1], 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            error += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(error)


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """Temperature T > 0 minimising the negative log-likelihood of softmax(logits / T) (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    target = np.asarray(target)

    def nll(log_t: float) -> float:
        p = _softmax(logits / np.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(target)), target], 1e-12, None)).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


@dataclass
class _NumpyNetwork:
    """The trained network's weights as numpy arrays: embedding bag (sum) → tanh → linear → softmax."""

    embedding: np.ndarray
    hidden_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    history: list[float] = field(default_factory=list)
    temperature: float = 1.0

    def logits(self, X: sparse.csr_matrix) -> np.ndarray:
        hidden = np.tanh(X @ self.embedding + self.hidden_bias)
        return hidden @ self.output + self.output_bias

    def predict_proba(self, X: sparse.csr_matrix) -> np.ndarray:
        return _softmax(self.logits(X) / self.temperature)


class NeuralSentimentModel(_PerLanguageModel):
    """fastText-style embedding-bag network in torch over NB-weighted n-gram features, temperature-calibrated.

    ``shared``: a fitted ``LinearSentimentModel`` on the same rows whose fitted features (and NB weights) are
    reused, so an ensemble of the two computes them once per text. A stratified ``calibration_share`` of the
    training rows is kept out of training: the epoch with the lowest validation loss is kept and the
    temperature is fitted on it; ``calibration_[language]`` records T and the ECE before/after."""

    algorithm = "torch-embedding-bag"

    def __init__(
        self,
        params: SentimentParams | None = None,
        *,
        device: str | None = None,
        shared: _PerLanguageModel | None = None,
    ):
        super().__init__(params)
        self.device = device
        self.shared = shared

    def fit(self, texts, labels, languages=None):
        self.calibration_: dict[str, dict] = {}
        super().fit(texts, labels, languages)
        self.shared = None  # the fitted features live in models_; don't pickle the other model twice
        return self

    def _fit_one(self, language: str, texts: list[str], y: np.ndarray) -> _LanguageModel:
        import torch

        from ecomops.torch_device import torch_device  # noqa: I001 - pure helper, no Django

        device = torch.device(self.device) if self.device else torch_device()
        self.device_used_ = str(device)
        torch.manual_seed(self.params.seed)
        rng = np.random.default_rng(self.params.seed)
        classes = sorted(set(y))
        shared = (self.shared.models_ or {}).get(language) if self.shared is not None else None
        if shared is not None:
            features, scale = shared.features, shared.scale
            X = features.transform(texts)
        else:
            features = _Features(language, min_df=self.params.min_df)
            X = features.fit_transform(texts)
            weighted = self.params.nb_weighting is not False  # standalone: NB-weighted unless told otherwise
            scale = _nb_ratio(X, y, classes) if weighted else np.ones(X.shape[1], dtype=np.float32)
        X = X.multiply(scale).tocsr().astype(np.float32)
        target = np.array([classes.index(label) for label in y])
        valid = _validation_mask(y, self.params.calibration_share, self.params.seed)
        if valid.sum() < 10 or len(set(y[~valid])) < 2:
            valid[:] = False
        X_valid, valid_target = X[valid], target[valid]
        X, target = X[~valid], target[~valid]
        counts = np.bincount(target, minlength=len(classes)).astype(np.float32)
        balanced = counts.sum() / (len(classes) * np.maximum(counts, 1))
        class_weight = torch.tensor(
            balanced if self.params.class_weight == "balanced" else np.ones_like(counts), device=device
        )

        bag = torch.nn.EmbeddingBag(X.shape[1], self.params.embedding_dim, mode="sum", sparse=True).to(device)
        torch.nn.init.normal_(bag.weight, std=0.05)
        hidden_bias = torch.nn.Parameter(torch.zeros(self.params.embedding_dim, device=device))
        head = torch.nn.Linear(self.params.embedding_dim, len(classes)).to(device)
        dropout = torch.nn.Dropout(0.3)
        sparse_optimizer = torch.optim.SparseAdam(list(bag.parameters()), lr=self.params.learning_rate)
        optimizer = torch.optim.Adam([hidden_bias, *head.parameters()], lr=self.params.learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)

        def snapshot() -> _NumpyNetwork:
            return _NumpyNetwork(
                embedding=bag.weight.detach().cpu().numpy().copy(),
                hidden_bias=hidden_bias.detach().cpu().numpy().copy(),
                output=head.weight.detach().cpu().numpy().T.copy(),
                output_bias=head.bias.detach().cpu().numpy().copy(),
            )

        history, best, best_loss, best_epoch = [], None, np.inf, 0
        for epoch in range(self.params.epochs):
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
            if valid.any():
                network = snapshot()
                valid_loss = -np.log(
                    np.clip(network.predict_proba(X_valid)[np.arange(len(valid_target)), valid_target], 1e-12, None)
                ).mean()
                if valid_loss < best_loss:
                    best, best_loss, best_epoch = network, valid_loss, epoch + 1
        network = best if best is not None else snapshot()
        network.history = history
        if valid.any():
            logits = network.logits(X_valid)
            before = expected_calibration_error(_softmax(logits), valid_target)
            network.temperature = fit_temperature(logits, valid_target)
            after = expected_calibration_error(network.predict_proba(X_valid), valid_target)
            self.calibration_[language] = {
                "temperature": round(network.temperature, 4),
                "ece_before": round(before, 4),
                "ece_after": round(after, 4),
                "validation_rows": int(valid.sum()),
                "best_epoch": best_epoch,
            }
        return _LanguageModel(features=features, scale=scale, classifier=network, classes=classes)

    def _scores(self, model: _LanguageModel, X: sparse.csr_matrix) -> np.ndarray:
        return model.classifier.predict_proba(X)


class EnsembleSentimentModel(_PerLanguageModel):
    """The average of fitted members' probabilities (the NB-TF-IDF model and the torch network)."""

    algorithm = "ensemble(nb-tfidf-logreg+torch-embedding-bag)"

    def __init__(self, members: list[_PerLanguageModel], params: SentimentParams | None = None):
        super().__init__(params or members[0].params)
        self.members = members
        self.models_ = {key: None for member in members for key in getattr(member, "models_", {})}
        self.device_used_ = getattr(members[-1], "device_used_", "cpu")

    def fit(self, texts, labels, languages=None):
        for index, member in enumerate(self.members):
            if isinstance(member, NeuralSentimentModel) and index > 0 and member.shared is None:
                member.shared = self.members[0]
            member.fit(texts, labels, languages)
        self.models_ = {key: None for member in self.members for key in member.models_}
        return self

    def _distributions(self, texts: list[str], langs: list[str]) -> list[dict[str, float]]:
        groups: dict[str, list[int]] = {}
        for index, lang in enumerate(langs):
            key = lang if all(lang in member.models_ for member in self.members) else POOLED
            groups.setdefault(key, []).append(index)
        averaged: list[dict[str, float]] = [{} for _ in texts]
        for key, indexes in groups.items():
            fitted = [member.models_.get(key) for member in self.members]
            subset = [texts[i] for i in indexes]
            shared = all(m is not None for m in fitted) and all(
                m.features is fitted[0].features and m.scale is fitted[0].scale for m in fitted
            )
            if shared:  # one feature pass for every member
                X = fitted[0].features.transform(subset).multiply(fitted[0].scale).tocsr()
                per_member = [
                    [dict(zip(m.classes, map(float, row), strict=True)) for row in member._scores(m, X)]
                    for member, m in zip(self.members, fitted, strict=True)
                ]
            else:
                per_member = [member._distributions(subset, [langs[i] for i in indexes]) for member in self.members]
            for row, index in enumerate(indexes):
                keys = set().union(*(d[row] for d in per_member))
                averaged[index] = {k: sum(d[row].get(k, 0.0) for d in per_member) / len(per_member) for k in keys}
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

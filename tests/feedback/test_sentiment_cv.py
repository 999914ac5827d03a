"""The linear sentiment model chooses NB weighting and C by cross-validation and is temperature-calibrated."""

import numpy as np
import pytest

from feedback.ml.sentiment import (
    _C_GRID,
    LinearSentimentModel,
    SentimentParams,
    _logits,
    _softmax,
)

GOOD = ["ótimo", "excelente", "perfeito", "rápido", "adorei", "recomendo"]
BAD = ["péssimo", "quebrado", "atrasado", "horrível", "defeito", "devolvi"]
FILLER = ["produto", "entrega", "loja", "pedido", "caixa", "cor", "tamanho", "preço", "site", "frete"]


def _noisy_corpus(rows: int = 360, flip: float = 0.1, seed: int = 3):
    """Texts of filler words plus one or two sentiment words; ``flip`` of the labels are wrong on purpose."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for index in range(rows):
        positive = index % 2 == 0
        words = list(rng.choice(FILLER, size=4)) + list(rng.choice(GOOD if positive else BAD, size=rng.integers(1, 3)))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append("positive" if positive != (rng.random() < flip) else "negative")
    return texts, labels


def test_weighting_and_C_are_chosen_by_cross_validation_and_calibrated_out_of_fold():
    texts, labels = _noisy_corpus()
    model = LinearSentimentModel(SentimentParams(min_language_rows=10)).fit(texts, labels, ["pt"] * len(texts))
    scores = model.cv_scores_["pt"]
    assert set(scores) == {(nb, C) for nb in (True, False) for C in _C_GRID[nb]}
    best_nb, best_C = max(scores, key=scores.get)
    assert model.chosen_C_["pt"] == best_C
    assert model.chosen_weighting_["pt"] == ("nb" if best_nb else "tfidf")
    assert 0.8 <= scores[(best_nb, best_C)] <= 1.0  # 10% of the labels are flipped
    calibration = model.calibration_["pt"]
    assert set(calibration) == {"temperature", "ece_before", "ece_after", "validation_rows", "cv_folds"}
    assert calibration["validation_rows"] == 360 and calibration["cv_folds"] == 3
    assert calibration["temperature"] > 0
    fitted = model.models_["pt"]
    assert fitted.temperature == pytest.approx(calibration["temperature"], abs=1e-4)
    # served probabilities are the logistic regression's logits divided by the fitted temperature
    probe = ["ótimo produto, recomendo", "produto quebrado, péssimo"]
    X = fitted.features.transform(probe).multiply(fitted.scale).tocsr()
    expected = _softmax(_logits(fitted.classifier, X) / fitted.temperature)
    served = model.predict_proba(probe, ["pt", "pt"]).distribution
    for row, dist in enumerate(served):
        for column, label in enumerate(fitted.classes):
            assert dist[label] == pytest.approx(expected[row, column], abs=1e-6)
    assert model.predict(probe, ["pt", "pt"]) == ["positive", "negative"]


def test_fixed_weighting_and_C_skip_cross_validation_and_serve_the_regression_probabilities():
    texts, labels = _noisy_corpus()
    params = SentimentParams(min_language_rows=10, C=2.0, nb_weighting=False)
    model = LinearSentimentModel(params).fit(texts, labels, ["pt"] * len(texts))
    assert not hasattr(model, "cv_scores_") and not hasattr(model, "calibration_")
    assert model.chosen_C_["pt"] == 2.0 and model.chosen_weighting_["pt"] == "tfidf"
    fitted = model.models_["pt"]
    assert fitted.temperature == 1.0
    assert np.all(fitted.scale == 1.0)
    X = fitted.features.transform(texts[:5])
    proba = fitted.classifier.predict_proba(X)
    served = model.predict_proba(texts[:5], ["pt"] * 5).distribution
    for row, dist in enumerate(served):
        assert [dist[label] for label in fitted.classes] == pytest.approx(list(proba[row]), abs=1e-6)


def test_a_fixed_C_narrows_the_grid_to_the_weightings():
    texts, labels = _noisy_corpus()
    model = LinearSentimentModel(SentimentParams(min_language_rows=10, C=4.0)).fit(texts, labels, ["pt"] * 360)
    assert set(model.cv_scores_["pt"]) == {(True, 4.0), (False, 4.0)}
    assert model.chosen_C_["pt"] == 4.0

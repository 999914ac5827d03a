"""Temperature scaling and ECE of the torch sentiment model, features shared with the ensemble, jieba words."""

import numpy as np
import pytest

from feedback.ml.sentiment import (
    NEGATIVE,
    POSITIVE,
    EnsembleSentimentModel,
    LinearSentimentModel,
    NeuralSentimentModel,
    SentimentParams,
    _chinese_words,
    expected_calibration_error,
    fit_temperature,
)
from tests.feedback.test_ml import _corpus


def test_expected_calibration_error_by_hand():
    probabilities = np.array([[0.2, 0.8], [0.2, 0.8], [0.9, 0.1], [0.4, 0.6]])
    # confidences 0.8 (right), 0.8 (wrong), 0.9 (right), 0.6 (right): 0.5*|0.8-0.5| + 0.25*0.1 + 0.25*0.4
    assert expected_calibration_error(probabilities, np.array([1, 0, 0, 1])) == pytest.approx(0.275)
    assert expected_calibration_error(np.array([[0.0, 1.0]]), np.array([1])) == pytest.approx(0.0)


def test_temperature_recovers_the_overconfidence_factor():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 40_000)
    target = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(int)
    overconfident = np.column_stack([np.zeros_like(z), 3.0 * z])  # true logits scaled by 3
    assert fit_temperature(overconfident, target) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(overconfident / 3.0, target) == pytest.approx(1.0, rel=0.05)


def _bigger_corpus(repeat: int = 6):
    texts, labels, languages = _corpus()
    # variations so the validation part is not made of exact copies of training rows
    return (
        [f"{t} {i}" for i in range(repeat) for t in texts],
        labels * repeat,
        languages * repeat,
    )


def test_torch_model_is_temperature_calibrated_on_a_validation_part():
    texts, labels, languages = _bigger_corpus()
    params = SentimentParams(min_language_rows=10_000, epochs=3, calibration_share=0.2)
    model = NeuralSentimentModel(params, device="cpu").fit(texts, labels, languages)
    calibration = model.calibration_["*"]  # only the pooled model: every language is below min_language_rows
    per_label = {label: labels.count(label) for label in set(labels)}
    assert calibration["validation_rows"] == sum(round(n * 0.2) for n in per_label.values())
    assert calibration["temperature"] == pytest.approx(model.models_["*"].classifier.temperature, abs=1e-4)
    assert calibration["temperature"] > 0
    assert 1 <= calibration["best_epoch"] <= 3
    probabilities = model.predict_proba(texts[:5], languages[:5]).distribution
    assert all(abs(sum(d.values()) - 1.0) < 1e-6 for d in probabilities)


def test_ensemble_shares_features_and_averages_its_members():
    texts, labels, languages = _bigger_corpus(3)
    params = SentimentParams(min_language_rows=10, epochs=2)
    linear = LinearSentimentModel(params)
    neural = NeuralSentimentModel(params, device="cpu")
    ensemble = EnsembleSentimentModel([linear, neural]).fit(texts, labels, languages)
    for language in ("pt", "en", "zh", "*"):
        assert neural.models_[language].features is linear.models_[language].features
    assert neural.shared is None  # not pickled twice
    probe = ["produto péssimo, não chegou", "excellent, love it", "很好吃，很满意", "texto novo"]
    together = ensemble.predict_proba(probe).distribution
    apart = [linear.predict_proba(probe).distribution, neural.predict_proba(probe).distribution]
    for index in range(len(probe)):
        for label in (NEGATIVE, POSITIVE):
            expected = (apart[0][index][label] + apart[1][index][label]) / 2
            assert together[index][label] == pytest.approx(expected, abs=1e-9)


def test_chinese_words_come_from_a_segmenter_with_bigrams():
    tokens = _chinese_words("这个酒店的服务太差了")
    assert "酒店" in tokens and "服务" in tokens
    assert "酒店 的" in tokens
    assert " " not in tokens


@pytest.mark.django_db
def test_product_training_registers_the_calibrated_torch_model_and_the_ensemble():
    from ecomops.registry import model_version_load
    from feedback.models import Review
    from feedback.services import sentiment_train
    from tests.feedback.factories import CORPUS

    Review.objects.bulk_create(
        Review(
            source=Review.Source.IMPORT,
            channel=f"corpus-{language}",
            external_id=f"{language}-{label}-{i}-{copy}",
            label=label,
            text=f"{text} {copy}",
            language=language,
        )
        for language, by_label in CORPUS.items()
        for label, texts in by_label.items()
        for i, text in enumerate(texts)
        for copy in range(6)
    )
    linear, neural, ensemble = sentiment_train(algorithms=("linear", "neural", "ensemble"))
    assert neural.metrics["calibration"]["*"]["temperature"] > 0
    assert set(neural.metrics["calibration"]["*"]) == {
        "temperature",
        "ece_before",
        "ece_after",
        "validation_rows",
        "best_epoch",
    }
    loaded = model_version_load(version=ensemble)
    first, second = loaded.members
    assert second.models_["*"].features is first.models_["*"].features  # one feature pass after unpickling too
    assert loaded.predict(["produto péssimo, não chegou"], ["pt"]) == ["negative"]

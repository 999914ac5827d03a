"""Writes of the feedback app: scoring reviews, training and registering the sentiment and topic models.

The customer-service queue and reply drafting are in :mod:`feedback.services_queue`, importing labelled
reviews in :mod:`feedback.services_import`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ecomops.bulk import bulk_insert, bulk_update_rows
from ecomops.models import JobRun, ModelVersion
from ecomops.registry import (
    ModelSpec,
    TrainedModel,
    active_model_version,
    model_version_activate,
    model_version_load,
    model_version_promote_if_better,
    model_version_register,
)

from .ml.language import detect_language, language_prior, routing_language
from .ml.sentiment import (
    LABELS,
    NEGATIVE,
    EnsembleSentimentModel,
    LinearSentimentModel,
    NeuralSentimentModel,
    SentimentParams,
    compose_text,
)
from .ml.suspicious import score_suspicious
from .ml.topics import TopicModel, default_keyword_rules, olist_topic_labels
from .models import Review, ReviewAnalysis, TopicKeyword
from .selectors import sentiment_training_frame, topic_keyword_rules

logger = logging.getLogger(__name__)

SENTIMENT_SPEC = ModelSpec(
    name="feedback-sentiment",
    primary_metric="macro_f1",
    higher_is_better=True,
    description="Review sentiment (negative/neutral/positive), one model per language; held-out: latest 20% by date.",
)
TOPIC_SPEC = ModelSpec(
    name="feedback-topics",
    primary_metric="macro_f1",
    higher_is_better=True,
    description="Complaint topics, multi-label (learned on olist_classified votes + operator keywords).",
)
MAX_ANALYZE_TEXTS = 1000


class NoActiveModel(Exception):
    """No sentiment model has been trained and activated yet."""


# --------------------------------------------------------------------------- loading active models
_cache_lock = threading.Lock()
_cache: dict[int, object] = {}


def _loaded(version: ModelVersion):
    """Artifacts are loaded once per process (checksum-verified by the registry) and kept by version id and
    checksum (an id alone can come back with another artifact after a database is restored or rolled back)."""
    key = (version.pk, version.artifact_sha256)
    with _cache_lock:
        if key not in _cache:
            if len(_cache) > 4:
                _cache.clear()
            _cache[key] = model_version_load(version=version)
        return _cache[key]


@dataclass(frozen=True)
class TextAnalysis:
    """The analysis of one text (what ``analyze_text`` exports and the analyze API returns)."""

    language: str
    sentiment: str
    probability: float
    distribution: dict[str, float]
    topics: list[str]
    topic_scores: dict[str, float]
    topic_evidence: dict[str, str]
    model_version: str
    # the part of the sentiment model that scored it: the language, or "und" (pooled) when it was uncertain
    scored_as: str = ""


def texts_analyze(*, texts: list[str], languages: list[str] | None = None) -> list[TextAnalysis]:
    """Language, sentiment and topics of free texts with the active models (raises ``NoActiveModel``)."""
    version = active_model_version(SENTIMENT_SPEC.name)
    if version is None:
        raise NoActiveModel(
            "no active sentiment model: run 'manage.py train_models --only sentiment' (or the train:sentiment job "
            "from the admin or the API) after importing labelled reviews"
        )
    sentiment_model = _loaded(version)
    texts = [str(t or "") for t in texts]
    # a blank language is detected, short texts leaning to the languages the active model was trained on; a text
    # whose language stays uncertain is reported with its best guess but scored by the model's pooled part
    prior = sentiment_model.language_prior()
    given = list(languages) if languages else [""] * len(texts)
    guesses = [None if lang else detect_language(t, prior=prior) for lang, t in zip(given, texts, strict=True)]
    languages = [lang or guess.language for lang, guess in zip(given, guesses, strict=True)]
    routes = [lang or routing_language(guess) for lang, guess in zip(given, guesses, strict=True)]
    prediction = sentiment_model.predict_proba(texts, routes)
    topic_version = active_model_version(TOPIC_SPEC.name)
    topic_model = _loaded(topic_version) if topic_version else TopicModel()
    rules = topic_keyword_rules() or default_keyword_rules()
    topics = topic_model.predict(texts, languages, rules)
    label = f"{SENTIMENT_SPEC.name}:v{version.version}"
    results = []
    for index in range(len(texts)):
        found = topics.topics[index]
        if prediction.labels[index] == NEGATIVE and not found and texts[index].strip():
            found = ["other"]
        results.append(
            TextAnalysis(
                language=languages[index],
                sentiment=prediction.labels[index],
                probability=prediction.probabilities[index],
                distribution={k: round(v, 4) for k, v in prediction.distribution[index].items()},
                topics=found,
                topic_scores=topics.scores[index],
                topic_evidence=topics.evidence[index],
                model_version=label,
                scored_as=routes[index],
            )
        )
    return results


# --------------------------------------------------------------------------- scoring stored reviews
def reviews_analyze(*, review_ids: list[int] | None = None, batch_size: int = 2000) -> int:
    """(Re-)score reviews with the active models; ``None`` = every review. Returns the number scored.

    Writes one ``ReviewAnalysis`` per review (pointing at the model versions), fills a blank
    ``Review.language`` and refreshes the review's customer-service queue item.
    """
    from .services_queue import queue_items_sync

    version = active_model_version(SENTIMENT_SPEC.name)
    if version is None:
        raise NoActiveModel("no active sentiment model: run the train:sentiment job first")
    topic_version = active_model_version(TOPIC_SPEC.name)
    reviews = Review.objects.order_by("pk")
    if review_ids is not None:
        reviews = reviews.filter(pk__in=review_ids)
    ids = list(reviews.values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), batch_size):
        chunk = list(Review.objects.filter(pk__in=ids[start : start + batch_size]).order_by("pk"))
        texts = [compose_text(r.title, r.text) for r in chunk]
        analyses = texts_analyze(texts=texts, languages=[r.language for r in chunk])
        now = timezone.now()
        with transaction.atomic():
            # plain rows by executemany (ecomops.bulk): bulk_create / bulk_update's CASE WHEN per row and field
            # were most of the write time of a full re-score (100k reviews), with DEBUG's query log on top
            existing = dict(
                ReviewAnalysis.objects.filter(review_id__in=[r.pk for r in chunk]).values_list("review_id", "pk")
            )
            create, update = [], []
            for review, result in zip(chunk, analyses, strict=True):
                values = dict(
                    language=result.language,
                    sentiment=result.sentiment,
                    probability=min(1.0, max(0.0, result.probability)),
                    distribution=result.distribution,
                    topics=result.topics,
                    topic_scores=result.topic_scores,
                    topic_evidence=result.topic_evidence,
                    model_version_id=version.pk,
                    topic_model_version_id=topic_version.pk if topic_version else None,
                    analyzed_at=now,
                )
                if review.pk in existing:
                    update.append({"pk": existing[review.pk], **values, "updated_at": now})
                else:
                    create.append({"review_id": review.pk, **values})
            bulk_insert(ReviewAnalysis, create)
            if update:
                bulk_update_rows(ReviewAnalysis, update, list(update[0].keys() - {"pk"}))
            for review, result in zip(chunk, analyses, strict=True):
                # only a confident guess is kept: a stored language counts as given at the next scoring
                if not review.language and result.scored_as != "und":
                    Review.objects.filter(pk=review.pk, language="").update(language=result.scored_as)
            queue_items_sync(review_ids=[r.pk for r in chunk])
        done += len(chunk)
    return done


def reviews_flag_suspicious(*, days: int | None = None) -> int:
    """Recompute suspicious scores (duplicates across customers, bursts, contradicting ratings).

    Duplicates are looked for among all analysed reviews (or those written in the last ``days``).
    Returns the number of reviews flagged (score > 0).
    """
    analyses = ReviewAnalysis.objects.select_related("review", "review__order")
    if days:
        analyses = analyses.filter(review__created_at_source__gte=timezone.now() - pd.Timedelta(days=days))
    rows = list(
        analyses.values_list(
            "pk",
            "review__title",
            "review__text",
            "review__order__customer_id",
            "review__order_id",
            "review__score",
            "review__created_at_source",
            "sentiment",
            "probability",
        ).order_by("pk")
    )
    if not rows:
        return 0
    from orders.models import OrderLine

    order_ids = {row[4] for row in rows if row[4]}
    first_product = {}
    for order_id, product_id in (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "line_number")
        .values_list("order_id", "product_id")
    ):
        first_product.setdefault(order_id, str(product_id))
    frame = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "text": [compose_text(r[1], r[2]) for r in rows],
            "customer": [str(r[3]) if r[3] else "" for r in rows],
            "product": [first_product.get(r[4], "") for r in rows],
            "score": [np.nan if r[5] is None else r[5] for r in rows],
            "created_at": pd.to_datetime([r[6] for r in rows], utc=True),
            "sentiment": [r[7] for r in rows],
            "probability": [r[8] for r in rows],
        }
    )
    scored = score_suspicious(frame)
    rows = (
        {"pk": int(pk), "suspicious_score": float(value), "suspicious_reasons": list(reasons)}
        for pk, value, reasons in zip(scored["id"], scored["suspicious_score"], scored["reasons"], strict=True)
    )
    with transaction.atomic():  # as bulk_update: all rows or none
        bulk_update_rows(ReviewAnalysis, rows, ["suspicious_score", "suspicious_reasons"])
    return int((scored["suspicious_score"] > 0).sum())


def reviews_schedule_analysis(*, review_ids: list[int]) -> None:
    """Queue scoring of new or changed reviews once the surrounding transaction commits."""
    if not review_ids:
        return
    from .tasks import reviews_analyze_task

    ids = sorted(set(review_ids))
    transaction.on_commit(lambda: reviews_analyze_task.delay(ids))


# --------------------------------------------------------------------------- training
def _holdout_split(frame: pd.DataFrame, holdout: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per language, the latest ``holdout`` share of the dated reviews and a fixed pseudo-random ``holdout`` share
    of the undated ones (labelled sets imported without dates: their row order is the file's, often sorted by
    label, so "the latest" would hold out one class of one file). The undated draw hashes the review id, so
    retraining holds out the same rows."""
    train, test = [], []
    for _, group in frame.groupby("language", sort=True):
        dated = group[group.dated.astype(bool)]
        cut = int(round(len(dated) * (1 - holdout)))
        train.append(dated.iloc[:cut])
        test.append(dated.iloc[cut:])
        undated = group[~group.dated.astype(bool)]
        drawn = ((undated.id.astype("int64").to_numpy() * 2654435761) % 2**32) / 2**32 < holdout
        train.append(undated[~drawn])
        test.append(undated[drawn])
    return pd.concat(train).sort_index(), pd.concat(test).sort_index()


def _evaluate(model, test: pd.DataFrame) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    metrics: dict = {"per_language": {}}
    predicted = model.predict(test.text.tolist(), test.language.tolist())
    metrics["accuracy"] = round(float(accuracy_score(test.label, predicted)), 4)
    metrics["macro_f1"] = round(float(f1_score(test.label, predicted, average="macro")), 4)
    metrics["test_rows"] = len(test)
    for language, group in test.groupby("language"):
        sub = model.predict(group.text.tolist(), group.language.tolist())
        metrics["per_language"][language] = {
            "rows": len(group),
            "accuracy": round(float(accuracy_score(group.label, sub)), 4),
            "macro_f1": round(float(f1_score(group.label, sub, average="macro")), 4),
        }
    return metrics


def _macro_f1(model, rows: pd.DataFrame) -> float:
    from sklearn.metrics import f1_score

    predicted = model.predict(rows.text.tolist(), rows.language.tolist())
    return round(float(f1_score(rows.label, predicted, average="macro")), 4)


def _promotion_note(*, candidate, metrics: dict, test: pd.DataFrame, min_unseen: int = 50) -> str | None:
    """Why the candidate should become active, or None when it should not: it must beat the active version on
    the same held-out rows.

    When reviews arrived after the active version was trained, both are scored on the held-out rows it has never
    seen (the stored metrics were measured on different data, so comparing them would keep an old model that
    knows nothing of a newly imported language); otherwise the stored held-out metrics are compared."""
    incumbent = active_model_version(SENTIMENT_SPEC.name)
    new = metrics.get("macro_f1")
    if incumbent is None:
        return f"automatic: macro_f1 {new} beats nothing"
    unseen = test[pd.to_datetime(test.stored_at, utc=True) > incumbent.created_at]
    if len(unseen) < min_unseen:
        old = (incumbent.metrics or {}).get("macro_f1")
        if new is None or (old is not None and new <= old):
            return None
        return f"automatic: macro_f1 {new} beats v{incumbent.version} ({old})"
    try:
        old = _macro_f1(_loaded(incumbent), unseen)
    except Exception as exc:  # noqa: BLE001 - an unloadable incumbent (library upgrade, lost file) loses
        logger.warning("active %s v%d cannot be scored (%s); replacing it", SENTIMENT_SPEC.name, incumbent.version, exc)
        old = None
    new = _macro_f1(candidate, unseen)
    if old is not None and new < old:
        return None
    before = "could not be loaded" if old is None else f"macro_f1 {old}"
    return (
        f"automatic: macro_f1 {new} vs v{incumbent.version} {before} on {len(unseen)} held-out reviews "
        "stored after it was trained"
    )


def sentiment_train(
    *,
    job: JobRun | None = None,
    algorithms: tuple[str, ...] = ("linear", "neural", "ensemble"),
    holdout: float = 0.2,
    progress=None,
    until: datetime | None = None,
    refit: bool = True,
    rescore: bool = True,
) -> list[ModelVersion]:
    """Train the classical and the torch sentiment model on every labelled review (written before ``until``),
    register them, and activate whichever beats the active version on the held-out reviews.

    Each model is measured on the held-out part (per language: the latest 20 % of dated reviews, a fixed 20 % of
    undated ones) after fitting on the rest; with ``refit`` the artifact of a version that is activated is then
    fitted again on every row with the settings chosen on the training part (the metrics stay those of the held-out
    measurement), so the model that scores texts has seen all the labelled data. ``rescore``: re-score stored reviews (as a job)
    when a version is activated."""
    progress = progress or (lambda pct, msg: None)
    frame = sentiment_training_frame(until=until)
    frame = frame[frame.label.isin(LABELS)].copy()
    # reviews stored without a language: detected, short ones leaning to the languages of the others
    prior = language_prior(frame.loc[frame.language.astype(bool), "language"].value_counts().to_dict())
    frame["language"] = [
        lang or detect_language(text, prior=prior).language
        for lang, text in zip(frame.language, frame.text, strict=True)
    ]
    if frame.label.nunique() < 2 or len(frame) < 20:
        raise ValueError(
            f"need at least 20 labelled reviews with two sentiments to train a sentiment model; have {len(frame)}: "
            "import some (import_olist DIR, or import_reviews FILE --language L --text-column C --label-column C)"
        )
    train, test = _holdout_split(frame, holdout)
    if test.empty or train.label.nunique() < 2:
        train, test = frame, frame.iloc[:0]
    versions = []
    fitted: dict[str, object] = {}
    deployed: dict[str, object] = {}
    builders = {"linear": LinearSentimentModel, "neural": NeuralSentimentModel, "ensemble": None}
    everything = (frame.text.tolist(), frame.label.tolist(), frame.language.tolist())

    def refitted(name: str):
        """The model fitted again on every row (once per run; the ensemble averages the refitted members)."""
        if name not in deployed:
            if name == "linear":
                deployed[name] = fitted["linear"].refit(*everything)
            elif name == "neural":
                deployed[name] = NeuralSentimentModel(SentimentParams(), shared=refitted("linear")).fit(*everything)
            else:
                deployed[name] = EnsembleSentimentModel([refitted("linear"), refitted("neural")])
        return deployed[name]

    activated = False
    for step, name in enumerate(algorithms):
        if name not in builders:
            raise ValueError(f"unknown algorithm {name!r}; choose from {sorted(builders)}")
        progress(10 + int(80 * step / len(algorithms)), f"training {name} on {len(train)} reviews")
        if name == "ensemble":
            if not {"linear", "neural"} <= set(fitted):
                raise ValueError("the ensemble needs 'linear' and 'neural' trained first in the same run")
            model = EnsembleSentimentModel([fitted["linear"], fitted["neural"]])
        else:
            # the torch network reuses the linear model's fitted features when it was trained in this run
            extra = {"shared": fitted.get("linear")} if name == "neural" else {}
            model = builders[name](SentimentParams(), **extra).fit(
                train.text.tolist(), train.label.tolist(), train.language.tolist()
            )
        fitted[name] = model
        metrics = _evaluate(model, test) if len(test) else {"macro_f1": None, "test_rows": 0}
        if getattr(model, "calibration_", None):
            metrics["calibration"] = model.calibration_  # temperature and ECE before/after, per language
        metrics["train_rows"] = len(train)
        note = _promotion_note(candidate=model, metrics=metrics, test=test)
        artifact = model
        # only a version about to serve is refitted: a candidate that lost keeps its training-part fit (the torch
        # network's refit alone took ten minutes on 27k reviews)
        if refit and len(test) and note is not None:
            progress(10 + int(80 * (step + 0.5) / len(algorithms)), f"refitting {name} on all {len(frame)} reviews")
            artifact = refitted(name)
            metrics["deployed_rows"] = len(frame)
        trained = TrainedModel(
            algorithm=model.algorithm,
            artifact=artifact,
            metrics=metrics,
            parameters={
                "languages": sorted(artifact.models_),
                "holdout": holdout,
                "refit_on_all_rows": artifact is not model,
                "as_of": until.date().isoformat() if until else None,
            },
            data_start=_aware(frame.written_at.min()),
            data_end=_aware(frame.written_at.max()),
            device=getattr(model, "device_used_", "cpu"),
        )
        version = model_version_register(spec=SENTIMENT_SPEC, trained=trained, job=job)
        if note is not None:
            model_version_activate(version=version, note=note)
        logger.info(
            "trained %s v%d (%s): %s promoted=%s",
            SENTIMENT_SPEC.name,
            version.version,
            name,
            metrics["macro_f1"],
            note is not None,
        )
        activated = activated or note is not None
        versions.append(version)
    if activated and rescore:
        sentiment_rescore_schedule()  # once, with the last version activated (linear, then a better torch one)
    return versions


def sentiment_train_if_missing(*, notify=None) -> ModelVersion | None:
    """The first sentiment model, when none is active: the linear one on every labelled review, activated.

    Returns the new version, or None when a version is already active; ``notify(message)`` is told before training
    starts. Stored reviews are not re-scored here (the ``score:sentiment`` job does that). Raises ``ValueError``
    naming what to run when there is too little labelled data."""
    if active_model_version(SENTIMENT_SPEC.name) is not None:
        return None
    if notify is not None:
        notify(
            "no active sentiment model: training the linear one on the labelled reviews in the database first "
            "('train_models --only sentiment' trains every candidate)"
        )
    try:
        (version,) = sentiment_train(algorithms=("linear",), rescore=False)
    except ValueError as exc:
        raise ValueError(
            f"no active sentiment model, and none can be trained: {exc}; then run "
            "'manage.py train_models --only sentiment'"
        ) from None
    version.refresh_from_db()
    return version


def _aware(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    value = pd.Timestamp(value)
    return (value.tz_localize("UTC") if value.tzinfo is None else value).to_pydatetime()


def sentiment_rescore_schedule() -> None:
    """A new version became active: re-score every stored review (as a job, after commit), unless a re-scoring
    that has not started yet is queued already (it will use the versions active when it starts)."""
    from ecomops.jobs import job_start_follow_up

    job_start_follow_up(kind="score:sentiment", parameters={"all": True}, requested_via="activation")


def default_topic_data_path() -> Path:
    return (
        Path(settings.BASE_DIR).parent / "shared" / "data" / "olist_classified" / "olist_classified_public_dataset.csv"
    )


def topics_train(
    *, path: Path | None = None, job: JobRun | None = None, holdout: float = 0.2, until: datetime | None = None
) -> ModelVersion:
    """Learn topics from an olist_classified-format CSV (vote columns), register, promote if better.

    ``until``: only rows whose ``review_creation_date`` is strictly before it (rows without one are kept)."""
    path = Path(path) if path else default_topic_data_path()
    if not path.exists():
        raise FileNotFoundError(f"topic training data not found: {path} (olist_classified CSV with votes_* columns)")
    frame = pd.read_csv(path)
    missing = [c for c in ("review_comment_title", "review_comment_message", "votes_atrasado") if c not in frame]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
    if until is not None and "review_creation_date" in frame:
        written = pd.to_datetime(frame.review_creation_date, errors="coerce")
        frame = frame[written.isna() | (written < pd.Timestamp(until.replace(tzinfo=None)))].reset_index(drop=True)
    texts = [compose_text(t, m) for t, m in zip(frame.review_comment_title, frame.review_comment_message, strict=True)]
    labels = olist_topic_labels(frame)
    order = np.random.default_rng(0).permutation(len(frame))
    cut = int(len(frame) * (1 - holdout))
    rules = topic_keyword_rules() or default_keyword_rules()
    model = TopicModel().fit([texts[i] for i in order[:cut]], labels.iloc[order[:cut]], rules)
    test = order[cut:]
    prediction = model.predict([texts[i] for i in test], ["pt"] * len(test), rules)
    from sklearn.metrics import f1_score

    per_topic = {}
    for topic in model.learned_topics:
        truth = labels[topic].iloc[test].astype(int).to_numpy()
        guess = np.array([topic in found for found in prediction.topics], dtype=int)
        per_topic[topic] = round(float(f1_score(truth, guess, zero_division=0)), 4)
    metrics = {"macro_f1": round(float(np.mean(list(per_topic.values()))), 4), "per_topic_f1": per_topic}
    trained = TrainedModel(
        algorithm=model.algorithm,
        artifact=model,
        metrics=metrics,
        parameters={
            "source": path.name,
            "rows": len(frame),
            "holdout": holdout,
            "thresholds": model.thresholds_,
            "as_of": until.date().isoformat() if until else None,
        },
    )
    version = model_version_register(spec=TOPIC_SPEC, trained=trained, job=job)
    if model_version_promote_if_better(version=version):
        sentiment_rescore_schedule()
    return version


def topic_keywords_seed() -> int:
    """Load the built-in keywords into TopicKeyword (existing phrases are kept as edited). Returns rows created."""
    existing = set(TopicKeyword.objects.values_list("topic", "language", "phrase"))
    new = [
        TopicKeyword(topic=rule.topic, language=rule.language, phrase=rule.phrase)
        for rule in default_keyword_rules()
        if (rule.topic, rule.language, rule.phrase) not in existing
    ]
    TopicKeyword.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)

"""Writes of the feedback app: scoring reviews, training and registering models, importing labelled reviews.

The customer-service queue and reply drafting are in :mod:`feedback.services_queue`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ecomops.models import JobRun, ModelVersion
from ecomops.registry import (
    ModelSpec,
    TrainedModel,
    active_model_version,
    model_version_load,
    model_version_promote_if_better,
    model_version_register,
)

from .ml.language import detect_language
from .ml.sentiment import (
    LABELS,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
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
    """Artifacts are loaded once per process (checksum-verified by the registry) and kept by version id."""
    with _cache_lock:
        if version.pk not in _cache:
            if len(_cache) > 4:
                _cache.clear()
            _cache[version.pk] = model_version_load(version=version)
        return _cache[version.pk]


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


def texts_analyze(*, texts: list[str], languages: list[str] | None = None) -> list[TextAnalysis]:
    """Language, sentiment and topics of free texts with the active models (raises ``NoActiveModel``)."""
    version = active_model_version(SENTIMENT_SPEC.name)
    if version is None:
        raise NoActiveModel("no active sentiment model: run the train:sentiment job (admin → Job runs, or the API)")
    sentiment_model = _loaded(version)
    texts = [str(t or "") for t in texts]
    languages = list(languages) if languages else [detect_language(t).language for t in texts]
    prediction = sentiment_model.predict_proba(texts, languages)
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
        languages = [r.language or detect_language(t).language for r, t in zip(chunk, texts, strict=True)]
        analyses = texts_analyze(texts=texts, languages=languages)
        now = timezone.now()
        with transaction.atomic():
            existing = {a.review_id: a for a in ReviewAnalysis.objects.filter(review__in=chunk)}
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
                    model_version=version,
                    topic_model_version=topic_version,
                    analyzed_at=now,
                )
                if review.pk in existing:
                    analysis = existing[review.pk]
                    for name, value in values.items():
                        setattr(analysis, name, value)
                    update.append(analysis)
                else:
                    create.append(ReviewAnalysis(review=review, **values))
            ReviewAnalysis.objects.bulk_create(create)
            ReviewAnalysis.objects.bulk_update(update, [*values.keys(), "updated_at"] if update else ["sentiment"])
            blank = [r.pk for r, lang in zip(chunk, languages, strict=True) if not r.language and lang != "und"]
            for review, language in zip(chunk, languages, strict=True):
                if review.pk in blank:
                    Review.objects.filter(pk=review.pk, language="").update(language=language)
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
    objects = []
    for pk, value, reasons in zip(scored["id"], scored["suspicious_score"], scored["reasons"], strict=True):
        objects.append(ReviewAnalysis(pk=int(pk), suspicious_score=float(value), suspicious_reasons=list(reasons)))
    ReviewAnalysis.objects.bulk_update(objects, ["suspicious_score", "suspicious_reasons"], batch_size=1000)
    return int((scored["suspicious_score"] > 0).sum())


def reviews_schedule_analysis(*, review_ids: list[int]) -> None:
    """Queue scoring of new or changed reviews once the surrounding transaction commits."""
    if not review_ids:
        return
    from .tasks import reviews_analyze_task

    ids = sorted(set(review_ids))
    transaction.on_commit(lambda: reviews_analyze_task.delay(ids))


# --------------------------------------------------------------------------- training
def _time_split(frame: pd.DataFrame, holdout: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per language, the latest ``holdout`` share (by date) is held out."""
    train, test = [], []
    for _, group in frame.groupby("language", sort=True):
        cut = int(round(len(group) * (1 - holdout)))
        train.append(group.iloc[:cut])
        test.append(group.iloc[cut:])
    return pd.concat(train), pd.concat(test)


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


def sentiment_train(
    *,
    job: JobRun | None = None,
    algorithms: tuple[str, ...] = ("linear", "neural", "ensemble"),
    holdout: float = 0.2,
    progress=None,
) -> list[ModelVersion]:
    """Train the classical and the torch sentiment model on every labelled review, register both, and
    activate whichever beats the active version on the held-out (latest) reviews."""
    progress = progress or (lambda pct, msg: None)
    frame = sentiment_training_frame()
    frame = frame[frame.label.isin(LABELS)].copy()
    frame["language"] = [
        lang or detect_language(text).language for lang, text in zip(frame.language, frame.text, strict=True)
    ]
    if frame.label.nunique() < 2 or len(frame) < 20:
        raise ValueError(f"need at least 20 labelled reviews with two sentiments; have {len(frame)}")
    train, test = _time_split(frame, holdout)
    versions = []
    fitted: dict[str, object] = {}
    builders = {"linear": LinearSentimentModel, "neural": NeuralSentimentModel, "ensemble": None}
    for step, name in enumerate(algorithms):
        if name not in builders:
            raise ValueError(f"unknown algorithm {name!r}; choose from {sorted(builders)}")
        progress(10 + int(80 * step / len(algorithms)), f"training {name} on {len(train)} reviews")
        if name == "ensemble":
            if not {"linear", "neural"} <= set(fitted):
                raise ValueError("the ensemble needs 'linear' and 'neural' trained first in the same run")
            model = EnsembleSentimentModel([fitted["linear"], fitted["neural"]])
        else:
            model = builders[name](SentimentParams()).fit(
                train.text.tolist(), train.label.tolist(), train.language.tolist()
            )
        fitted[name] = model
        metrics = _evaluate(model, test)
        metrics["train_rows"] = len(train)
        trained = TrainedModel(
            algorithm=model.algorithm,
            artifact=model,
            metrics=metrics,
            parameters={"languages": sorted(model.models_), "holdout": holdout},
            data_start=_aware(frame.written_at.min()),
            data_end=_aware(frame.written_at.max()),
            device=getattr(model, "device_used_", "cpu"),
        )
        version = model_version_register(spec=SENTIMENT_SPEC, trained=trained, job=job)
        promoted = model_version_promote_if_better(version=version)
        logger.info(
            "trained %s v%d (%s): %s promoted=%s",
            SENTIMENT_SPEC.name,
            version.version,
            name,
            metrics["macro_f1"],
            promoted,
        )
        if promoted:
            sentiment_rescore_schedule()
        versions.append(version)
    return versions


def _aware(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    value = pd.Timestamp(value)
    return (value.tz_localize("UTC") if value.tzinfo is None else value).to_pydatetime()


def sentiment_rescore_schedule() -> None:
    """A new version became active: re-score every stored review (as a job, after commit)."""
    from ecomops.jobs import job_start

    job_start(kind="score:sentiment", parameters={"all": True}, requested_via="activation")


def default_topic_data_path() -> Path:
    return (
        Path(settings.BASE_DIR).parent / "shared" / "data" / "olist_classified" / "olist_classified_public_dataset.csv"
    )


def topics_train(*, path: Path | None = None, job: JobRun | None = None, holdout: float = 0.2) -> ModelVersion:
    """Learn topics from an olist_classified-format CSV (vote columns), register, promote if better."""
    path = Path(path) if path else default_topic_data_path()
    if not path.exists():
        raise FileNotFoundError(f"topic training data not found: {path} (olist_classified CSV with votes_* columns)")
    frame = pd.read_csv(path)
    missing = [c for c in ("review_comment_title", "review_comment_message", "votes_atrasado") if c not in frame]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
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
        parameters={"source": path.name, "rows": len(frame), "holdout": holdout, "thresholds": model.thresholds_},
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


# --------------------------------------------------------------------------- importing labelled reviews
class LabelStyle:
    AUTO, BINARY, STARS, TEXT = "auto", "binary", "stars", "text"


_TEXT_LABELS = {
    "negative": NEGATIVE,
    "neg": NEGATIVE,
    "neutral": NEUTRAL,
    "neu": NEUTRAL,
    "positive": POSITIVE,
    "pos": POSITIVE,
    "negativo": NEGATIVE,
    "neutro": NEUTRAL,
    "positivo": POSITIVE,
}


def _numeric(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def label_style_detect(values: list[str]) -> str:
    """Numeric labels: binary when a 0 occurs (stars have none) or only 1s occur, stars when 2-5 occur;
    otherwise text (negative/neutral/positive). Rows that do not fit the detected style are rejected."""
    cleaned = [v.strip().lower() for v in values if v and v.strip()]
    numbers = [n for n in (_numeric(v) for v in cleaned) if n is not None]
    if not cleaned or len(numbers) * 2 < len(cleaned):
        return LabelStyle.TEXT
    if 0 in numbers or set(numbers) <= {1}:
        return LabelStyle.BINARY
    return LabelStyle.STARS


def label_map(value: str, style: str) -> tuple[str, int | None]:
    """(sentiment label, 1-5 score or None); raises ValueError naming what was expected."""
    value = (value or "").strip().lower()
    if not value:
        raise ValueError("label is empty")
    if style == LabelStyle.BINARY:
        number = _numeric(value)
        if number not in (0, 1):
            raise ValueError(f"label {value!r} is not 0 or 1")
        return (POSITIVE if number == 1 else NEGATIVE), None
    if style == LabelStyle.STARS:
        number = _numeric(value)
        if number is None or not 1 <= number <= 5:
            raise ValueError(f"label {value!r} is not a 1-5 star rating")
        return (NEGATIVE if number <= 2 else NEUTRAL if number == 3 else POSITIVE), number
    if value not in _TEXT_LABELS:
        raise ValueError(f"label {value!r} is not negative, neutral or positive")
    return _TEXT_LABELS[value], None


@dataclass
class ReviewImportReport:
    """What ``import_reviews`` did: counts and every rejected row (line number, column, reason)."""

    file: str
    label_style: str = ""
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.file}: read {self.read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)} (labels: {self.label_style})"
        )


def reviews_import_csv(
    *,
    source: str | Path | io.TextIOBase,
    language: str,
    text_column: str,
    label_column: str,
    title_column: str = "",
    id_column: str = "",
    date_column: str = "",
    channel: str = "",
    label_style: str = LabelStyle.AUTO,
    delimiter: str = "",
) -> ReviewImportReport:
    """Import labelled reviews from another channel (not tied to orders), idempotently.

    The natural key is (channel, id column value) or, without an id column, (channel, sha1 of the text).
    Rows with a missing text or an unreadable label are rejected with their line number; valid rows are
    written in one transaction and queued for scoring after commit.
    """
    name = getattr(source, "name", str(source)) if not isinstance(source, str | Path) else Path(source).name
    channel = channel or Path(name).stem[:64]
    if language and len(language) > 8:
        raise ValueError(f"--language {language!r} is not a language code (pt, en, zh, ...)")
    if isinstance(source, str | Path):
        raw = Path(source).read_bytes()
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    else:
        content = source.read()
    if not delimiter:
        sample = content[:4096]
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    columns = reader.fieldnames or []
    wanted = [c for c in (text_column, label_column, title_column, id_column, date_column) if c]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{name}: column(s) {missing} not in the header {columns}")
    rows = list(enumerate(reader, start=2))
    report = ReviewImportReport(file=name, read=len(rows))
    style = (
        label_style
        if label_style != LabelStyle.AUTO
        else label_style_detect([r.get(label_column) or "" for _, r in rows])
    )
    report.label_style = style
    incoming: dict[str, dict] = {}
    for line, row in rows:
        text = (row.get(text_column) or "").strip()
        title = (row.get(title_column) or "").strip() if title_column else ""
        if not text and not title:
            report.rejected.append((line, text_column, "text is empty"))
            continue
        try:
            label, score = label_map(row.get(label_column) or "", style)
        except ValueError as exc:
            report.rejected.append((line, label_column, str(exc)))
            continue
        external_id = (row.get(id_column) or "").strip() if id_column else ""
        if id_column and not external_id:
            report.rejected.append((line, id_column, "id is empty"))
            continue
        if len(external_id) > 64:
            report.rejected.append((line, id_column, "id longer than 64 characters"))
            continue
        external_id = external_id or hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()[:40]
        written = None
        if date_column and (row.get(date_column) or "").strip():
            written = parse_datetime(row[date_column].strip()) or _parse_date(row[date_column].strip())
            if written is None:
                report.rejected.append((line, date_column, f"date {row[date_column]!r} is not YYYY-MM-DD[ HH:MM]"))
                continue
            if timezone.is_naive(written):
                written = timezone.make_aware(written, timezone.get_default_timezone())
        if external_id in incoming:
            report.rejected.append(
                (line, id_column or text_column, f"duplicate of line {incoming[external_id]['line']}")
            )
            continue
        incoming[external_id] = {
            "line": line,
            "values": {
                "title": title[:255],
                "text": text,
                "label": label,
                "score": score,
                "language": language or detect_language(compose_text(title, text)).language[:8],
                "created_at_source": written,
            },
        }
    changed_ids: list[int] = []
    with transaction.atomic():
        existing = {
            r.external_id: r
            for r in Review.objects.select_for_update().filter(
                source=Review.Source.IMPORT, channel=channel, order__isnull=True, external_id__in=list(incoming)
            )
        }
        create, update = [], []
        for external_id, item in incoming.items():
            values = item["values"]
            review = existing.get(external_id)
            if review is None:
                create.append(Review(source=Review.Source.IMPORT, channel=channel, external_id=external_id, **values))
            elif any(
                getattr(review, k) != v for k, v in values.items() if not (k == "created_at_source" and v is None)
            ):
                for key, value in values.items():
                    if key == "created_at_source" and value is None:
                        continue
                    setattr(review, key, value)
                update.append(review)
            else:
                report.unchanged += 1
        Review.objects.bulk_create(create, batch_size=1000)
        if update:
            Review.objects.bulk_update(
                update,
                ["title", "text", "label", "score", "language", "created_at_source", "updated_at"],
                batch_size=1000,
            )
        report.created, report.updated = len(create), len(update)
        created_ids = list(
            Review.objects.filter(
                source=Review.Source.IMPORT, channel=channel, external_id__in=[r.external_id for r in create]
            ).values_list("pk", flat=True)
        )
        changed_ids = created_ids + [r.pk for r in update]
        if active_model_version(SENTIMENT_SPEC.name) is not None:
            reviews_schedule_analysis(review_ids=changed_ids)
    return report


def _parse_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None

"""Reads of the feedback app: training frames, queues, trends and report tables."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .ml.sentiment import compose_text, score_to_label
from .ml.topics import TopicKeywordRule
from .models import QueueItem, Review, ReviewAnalysis, TopicKeyword


def review_text(review: Review) -> str:
    return compose_text(review.title, review.text)


def sentiment_training_frame(*, until: datetime | None = None) -> pd.DataFrame:
    """Labelled reviews with text: ``id, text, label, language, written_at, dated, stored_at`` (label from the
    human label, else from the 1-5 score), oldest first.

    ``until``: only reviews written strictly before it; reviews without a date of writing (labelled sets
    imported without a date column) carry no time and are always included. ``dated`` says whether
    ``written_at`` is the date of writing (else it is when the row was stored); ``stored_at``: when it was stored.
    """
    reviews = Review.objects.filter(Q(label__gt="") | Q(score__isnull=False)).exclude(Q(text="") & Q(title=""))
    if until is not None:
        reviews = reviews.filter(Q(created_at_source__lt=until) | Q(created_at_source__isnull=True))
    rows = []
    for pk, title, text, label, score, language, written_at, created in reviews.values_list(
        "pk", "title", "text", "label", "score", "language", "created_at_source", "created_at"
    ).order_by("pk"):
        rows.append(
            {
                "id": pk,
                "text": compose_text(title, text),
                "label": label or score_to_label(score),
                "language": language,
                "written_at": written_at or created,
                "dated": written_at is not None,
                "stored_at": created,
            }
        )
    frame = pd.DataFrame(rows, columns=["id", "text", "label", "language", "written_at", "dated", "stored_at"])
    return frame.sort_values(["written_at", "id"], kind="stable").reset_index(drop=True)


def review_language_counts() -> dict[str, int]:
    """Stored reviews per known language: the store's mix, the prior for detecting short texts."""
    rows = Review.objects.exclude(language="").values("language").annotate(n=Count("pk")).values_list("language", "n")
    return dict(rows)


def topic_keyword_rules() -> list[TopicKeywordRule]:
    return [
        TopicKeywordRule(topic, language, phrase)
        for topic, language, phrase in TopicKeyword.objects.filter(is_active=True).values_list(
            "topic", "language", "phrase"
        )
    ]


def queue_open_items() -> QuerySet[QueueItem]:
    return (
        QueueItem.objects.filter(state__in=QueueItem.OPEN_STATES)
        .select_related("review", "review__analysis", "review__order", "assigned_to")
        .order_by("-priority", "due_at", "pk")
    )


def queue_health(*, now: datetime | None = None) -> dict:
    """Counts per state, overdue open items, median hours to resolve (last 90 days)."""
    now = now or timezone.now()
    counts = {state: 0 for state in QueueItem.State.values}
    for row in QueueItem.objects.values("state").annotate(n=Count("pk")).order_by("state"):
        counts[row["state"]] = row["n"]
    overdue = QueueItem.objects.filter(state__in=QueueItem.OPEN_STATES, due_at__lt=now).count()
    durations = [
        (resolved - created).total_seconds() / 3600
        for created, resolved in QueueItem.objects.filter(
            state=QueueItem.State.RESOLVED, resolved_at__gte=now - pd.Timedelta(days=90)
        )
        .values_list("created_at", "resolved_at")
        .order_by("pk")
    ]
    median = round(float(pd.Series(durations).median()), 2) if durations else None
    return {"counts": counts, "overdue": overdue, "median_hours_to_resolve": median, "resolved_90d": len(durations)}


def analysis_frame(*, since: datetime | None = None) -> pd.DataFrame:
    """One row per analysed review: month, sentiment, topics, product, seller (first order line)."""
    analyses = ReviewAnalysis.objects.select_related("review")
    if since is not None:
        analyses = analyses.filter(review__created_at_source__gte=since)
    columns = ["review_id", "sentiment", "topics", "written", "made", "review__order_id", "language"]
    rows = analyses.annotate(written=F("review__created_at_source"), made=F("review__created_at")).values_list(*columns)
    frame = pd.DataFrame.from_records(rows.iterator(chunk_size=10000), columns=columns)
    if frame.empty:
        return frame.assign(month=[], product=[], seller=[])
    frame["when"] = pd.to_datetime(frame["written"].fillna(frame["made"]), utc=True)
    frame["month"] = frame["when"].dt.strftime("%Y-%m")
    from orders.models import OrderLine  # reading the order hub is allowed (feedback → orders)

    first_lines = {}
    for order_id, product, seller in (
        # the orders as a subquery, not a list of ids in the SQL (100k of them at full Olist scale took 2.4 s
        # to build and send)
        OrderLine.objects.filter(order_id__in=analyses.filter(review__order__isnull=False).values("review__order_id"))
        .order_by("order_id", "line_number")
        .values_list("order_id", "product__sku", "seller__external_id")
    ):
        first_lines.setdefault(order_id, (product, seller or ""))
    frame["product"] = [first_lines.get(o, ("", ""))[0] for o in frame["review__order_id"]]
    frame["seller"] = [first_lines.get(o, ("", ""))[1] for o in frame["review__order_id"]]
    return frame


def sentiment_trend(frame: pd.DataFrame) -> pd.DataFrame:
    """Reviews per month and sentiment (columns negative, neutral, positive, share_negative)."""
    if frame.empty:
        return pd.DataFrame(columns=["month", "negative", "neutral", "positive", "share_negative"])
    table = frame.pivot_table(index="month", columns="sentiment", values="review_id", aggfunc="count", fill_value=0)
    for column in ("negative", "neutral", "positive"):
        if column not in table:
            table[column] = 0
    table = table[["negative", "neutral", "positive"]]
    table["share_negative"] = (table["negative"] / table.sum(axis=1)).round(3)
    return table.reset_index()


def topic_trend(frame: pd.DataFrame) -> pd.DataFrame:
    """Reviews per month and complaint topic (long format: month, topic, reviews)."""
    exploded = frame[["month", "topics"]].explode("topics").dropna()
    if exploded.empty:
        return pd.DataFrame(columns=["month", "topic", "reviews"])
    return exploded.groupby(["month", "topics"]).size().reset_index(name="reviews").rename(columns={"topics": "topic"})


def top_topics_by(frame: pd.DataFrame, *, group: str, limit: int = 20) -> pd.DataFrame:
    """The groups (seller or product) with most complaint mentions, and their top topic."""
    exploded = frame[frame[group].astype(bool)][[group, "topics"]].explode("topics").dropna()
    if exploded.empty:
        return pd.DataFrame(columns=[group, "complaints", "top_topic", "top_topic_count"])
    counts = exploded.groupby([group, "topics"]).size().reset_index(name="n")
    totals = counts.groupby(group)["n"].sum().rename("complaints")
    top = counts.sort_values(["n", "topics"], ascending=[False, True]).drop_duplicates(group).set_index(group)
    table = pd.concat([totals, top["topics"].rename("top_topic"), top["n"].rename("top_topic_count")], axis=1)
    return table.sort_values(["complaints", "top_topic_count"], ascending=False).head(limit).reset_index()


def monthly_counts() -> QuerySet:
    return (
        Review.objects.annotate(month=TruncMonth("created_at_source"))
        .values("month")
        .annotate(n=Count("pk"), score_sum=Sum("score"))
        .order_by("month")
    )

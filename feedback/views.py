"""HTML reports of feedback (under /reports/feedback/): trends, complaint hot spots, queue health, moderation."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.utils import timezone

from access.pii import mask_personal_text, user_sees_personal_data
from ecomops.reports import Chart, ReportInputError, ReportView, Table, bar_chart, line_chart

from .ml.keyphrases import key_phrases
from .models import QueueItem, Review, ReviewAnalysis
from .selectors import analysis_frame, queue_health, sentiment_trend, top_topics_by, topic_trend


def _since(request) -> datetime | None:
    value = request.GET.get("since", "").strip()
    if not value:
        return None
    try:
        return timezone.make_aware(datetime.strptime(value, "%Y-%m"))
    except ValueError:
        raise ReportInputError(f"since={value!r} is not a month like 2018-01") from None


class FeedbackTrendsReport(ReportView):
    """Sentiment and complaint topics per month; the sellers and products with most complaints."""

    title = "Feedback: sentiment and complaint topics"
    description = "Monthly sentiment and complaint topics of analysed reviews (?since=YYYY-MM); top sellers/products by complaints."
    permission_required = "feedback.view_reviewanalysis"
    section = "Feedback"
    csv_filename = "feedback-trends"

    def get_data(self) -> pd.DataFrame:
        self._frame = analysis_frame(since=_since(self.request))
        trend = sentiment_trend(self._frame)
        topics = topic_trend(self._frame)
        if not topics.empty:
            wide = topics.pivot_table(index="month", columns="topic", values="reviews", fill_value=0).reset_index()
            trend = trend.merge(wide, on="month", how="left").fillna(0)
        return trend

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        if df.empty:
            return []
        charts = [
            bar_chart(df, x="month", y=["negative", "neutral", "positive"], title="Reviews per month by sentiment"),
            line_chart(df, x="month", y="share_negative", title="Share of negative reviews"),
        ]
        topic_columns = [
            c for c in df.columns if c not in {"month", "negative", "neutral", "positive", "share_negative"}
        ]
        if topic_columns:
            charts.append(line_chart(df, x="month", y=topic_columns, title="Complaint topics per month"))
        return charts

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        tables = [Table(title="Per month", data=df)] if not df.empty else []
        frame = self._frame
        if frame.empty:
            return tables
        sellers = top_topics_by(frame, group="seller")
        tables.append(Table(title="Sellers with most complaints", data=sellers))
        products = top_topics_by(frame, group="product")
        tables.append(Table(title="Products with most complaints", data=products))
        negative = frame[frame.sentiment == Review.Label.NEGATIVE]
        # only the texts the key phrases are drawn from: the negative reviews of the top ten products and sellers
        negative = negative[
            negative["product"].isin(products["product"].head(10)) | negative["seller"].isin(sellers["seller"].head(10))
        ]
        if negative.empty:
            return tables
        texts = dict(Review.objects.filter(pk__in=negative.review_id.tolist()).values_list("pk", "text").order_by("pk"))
        negative = negative.assign(text=lambda f: f.review_id.map(texts))
        for group, top in (("product", products), ("seller", sellers)):
            if top.empty:
                continue
            phrases = key_phrases(negative[negative[group].isin(top[group].head(10))], group=group, top_n=8)
            tables.append(
                Table(
                    title=f"Key phrases of complaints (top {group}s)",
                    data=pd.DataFrame(
                        [{group: key, "key phrases": ", ".join(w for w, _ in v)} for key, v in phrases.items()],
                        columns=[group, "key phrases"],
                    ),
                )
            )
        return tables

    def get_summary(self, df: pd.DataFrame) -> dict:
        if df.empty:
            return {"analysed reviews": 0}
        total = int(df[["negative", "neutral", "positive"]].to_numpy().sum())
        return {"analysed reviews": total, "negative share": f"{df.negative.sum() / max(total, 1):.1%}"}


class QueueHealthReport(ReportView):
    """Counts per state, overdue items, median time to resolve, and open items per topic."""

    title = "Feedback: customer-service queue health"
    description = "Items per state, overdue open items and median hours to resolve (last 90 days)."
    permission_required = "feedback.view_queueitem"
    section = "Feedback"
    csv_filename = "feedback-queue"

    def get_data(self) -> pd.DataFrame:
        self._health = queue_health()
        return pd.DataFrame([{"state": state, "items": n} for state, n in self._health["counts"].items()])

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        return [bar_chart(df, x="state", y="items", title="Items per state")]

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        open_items = QueueItem.objects.filter(state__in=QueueItem.OPEN_STATES).values_list(
            "review__analysis__topics", "due_at"
        )
        now = timezone.now()
        rows: dict[str, dict] = {}
        for topics, due in open_items:
            for topic in topics or ["(none)"]:
                row = rows.setdefault(topic, {"topic": topic, "open": 0, "overdue": 0})
                row["open"] += 1
                row["overdue"] += bool(due and due < now)
        per_topic = pd.DataFrame(sorted(rows.values(), key=lambda r: -r["open"]), columns=["topic", "open", "overdue"])
        return [Table(title="Items per state", data=df), Table(title="Open items per topic", data=per_topic)]

    def get_summary(self, df: pd.DataFrame) -> dict:
        return {
            "open": sum(self._health["counts"][s] for s in QueueItem.OPEN_STATES),
            "overdue": self._health["overdue"],
            "median hours to resolve": self._health["median_hours_to_resolve"] or "—",
        }


class SuspiciousReviewsReport(ReportView):
    """Reviews for moderation: duplicates across customers, bursts on a product, ratings contradicting text."""

    title = "Feedback: suspicious reviews"
    description = "Highest suspicious scores first, with the reasons."
    permission_required = "feedback.view_reviewanalysis"
    section = "Feedback"
    csv_filename = "feedback-suspicious"

    def get_data(self) -> pd.DataFrame:
        rows = (
            ReviewAnalysis.objects.filter(suspicious_score__gt=0)
            .order_by("-suspicious_score", "pk")
            .values_list(
                "review__external_id",
                "review__score",
                "sentiment",
                "suspicious_score",
                "suspicious_reasons",
                "review__text",
                "review__order__customer__name",
            )[:500]
        )
        # The page and its CSV show review text with personal data masked to users without the permission.
        sees = user_sees_personal_data(self.request.user)
        return pd.DataFrame(
            [
                {
                    "review": r[0],
                    "score": r[1],
                    "sentiment": r[2],
                    "suspicious": r[3],
                    "reasons": "; ".join(r[4]),
                    "text": (r[5] if sees else mask_personal_text(r[5] or "", names=[r[6] or ""]))[:200],
                }
                for r in rows
            ],
            columns=["review", "score", "sentiment", "suspicious", "reasons", "text"],
        )

"""Feedback: customer reviews (of the store's orders, or labelled text from other channels)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ecomops.models import TimeStampedModel
from orders.models import Order


class Review(TimeStampedModel):
    """A review: a 1-5 score with optional title and text, tied to an order or imported from a channel.

    Olist reuses a ``review_id`` across orders, so the natural key is (source, external id, order).
    """

    class Source(models.TextChoices):
        STORE = "store", "Store (orders)"
        IMPORT = "import", "Imported channel"
        API = "api", "API"

    class Label(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    external_id = models.CharField(max_length=64, db_index=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="reviews")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STORE)
    channel = models.CharField(max_length=64, blank=True, help_text="Where an imported review came from.")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    label = models.CharField(
        max_length=16, choices=Label.choices, blank=True, help_text="Human sentiment label (training data)."
    )
    title = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True, db_index=True)
    created_at_source = models.DateTimeField("written at", null=True, blank=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at_source", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=1) & Q(score__lte=5)), name="review_score_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["source", "external_id", "order"],
                condition=Q(order__isnull=False),
                name="review_unique_per_order",
            ),
            models.UniqueConstraint(
                fields=["source", "channel", "external_id"],
                condition=Q(order__isnull=True),
                name="review_unique_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.external_id} ({self.score or self.label})"


class Topic(models.TextChoices):
    """Complaint topics (multi-label); the codes match ``feedback.ml.topics.TOPICS``."""

    LATE_DELIVERY = "late_delivery", "Late delivery"
    NOT_DELIVERED = "not_delivered", "Not delivered / partial delivery"
    DAMAGED_QUALITY = "damaged_quality", "Damaged or poor quality"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    WRONG_ITEM = "wrong_item", "Wrong item"
    SELLER_COMMUNICATION = "seller_communication", "Seller communication"
    PRICE_REFUND = "price_refund", "Price / refund"
    OTHER = "other", "Other"


class ReviewAnalysis(TimeStampedModel):
    """What the models say about one review: language, sentiment, topics and how suspicious it looks.

    Every row points at the sentiment (and topic) model version that produced it; re-scoring overwrites it.
    """

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="analysis")
    language = models.CharField(max_length=8, blank=True, db_index=True)
    sentiment = models.CharField(max_length=16, choices=Review.Label.choices, db_index=True)
    probability = models.FloatField(help_text="Probability of the predicted sentiment.")
    distribution = models.JSONField(default=dict, blank=True, help_text="Probability of every sentiment.")
    topics = models.JSONField(default=list, blank=True, help_text="Complaint topic codes.")
    topic_scores = models.JSONField(default=dict, blank=True)
    topic_evidence = models.JSONField(default=dict, blank=True, help_text="model, or the keywords that matched")
    suspicious_score = models.FloatField(default=0, db_index=True)
    suspicious_reasons = models.JSONField(default=list, blank=True)
    model_version = models.ForeignKey(
        "ecomops.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic_model_version = models.ForeignKey(
        "ecomops.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    analyzed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-analyzed_at", "-pk"]
        verbose_name_plural = "review analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1), name="reviewanalysis_probability_0_1"
            ),
            models.CheckConstraint(
                condition=Q(suspicious_score__gte=0) & Q(suspicious_score__lte=1), name="reviewanalysis_suspicious_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.sentiment} ({self.probability:.2f})"


class TopicKeyword(TimeStampedModel):
    """A phrase that signals a complaint topic, edited by operators; blank language = every language."""

    topic = models.CharField(max_length=32, choices=Topic.choices, db_index=True)
    language = models.CharField(max_length=8, blank=True, help_text="pt, en, zh, ...; blank for all.")
    phrase = models.CharField(max_length=128)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["topic", "language", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "language", "phrase"], name="topickeyword_unique"),
            models.CheckConstraint(condition=~Q(phrase=""), name="topickeyword_phrase_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.topic}/{self.language or '*'}: {self.phrase}"


class ReplyTemplate(TimeStampedModel):
    """A suggested reply for a topic and language; ``{order_number}``-style placeholders are filled per review.

    Blank topic = the general reply for that language.
    """

    topic = models.CharField(max_length=32, choices=Topic.choices, blank=True)
    language = models.CharField(max_length=8)
    name = models.CharField(max_length=128)
    body = models.TextField(
        help_text="Placeholders: {customer_name} {order_number} {items} {purchase_date} {expected_delivery} "
        "{delivered_on} {delivery_status} {topic}"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["language", "topic", "name"]
        constraints = [models.UniqueConstraint(fields=["topic", "language", "name"], name="replytemplate_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.topic or 'general'}, {self.language})"


class QueueItem(TimeStampedModel):
    """A review waiting for the customer-service team, with its priority, SLA due time and assignee."""

    class State(models.TextChoices):
        NEW = "new", "New"
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting for customer"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    OPEN_STATES = (State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.WAITING)

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="queue_item")
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW, db_index=True)
    priority = models.FloatField(default=0, db_index=True, help_text="Higher is served first (0-100).")
    priority_reasons = models.JSONField(default=list, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback_queue_items"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="SLA of its most severe topic.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-priority", "due_at", "pk"]
        indexes = [models.Index(fields=["state", "-priority"], name="queueitem_state_priority")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="dismissed") | ~Q(dismiss_reason=""), name="queueitem_dismiss_needs_reason"
            ),
            models.CheckConstraint(
                condition=Q(state="new") | Q(state="resolved") | Q(state="dismissed") | Q(assigned_to__isnull=False),
                name="queueitem_working_needs_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"queue #{self.pk} review {self.review_id} [{self.state}]"


class QueueNote(TimeStampedModel):
    """An internal note an agent adds to a queue item (never shown to the customer)."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()

    class Meta:
        ordering = ["item", "created_at", "pk"]

    def __str__(self) -> str:
        return f"note on {self.item_id} by {self.author_id}"


class ReviewReply(TimeStampedModel):
    """A reply sent to the customer: what the system suggested and what the agent actually sent."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    template = models.ForeignKey(ReplyTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    suggested_body = models.TextField(blank=True)
    body = models.TextField()
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name_plural = "review replies"
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="reviewreply_body_not_blank")]

    def __str__(self) -> str:
        return f"reply to {self.review_id} at {self.sent_at:%Y-%m-%d %H:%M}"

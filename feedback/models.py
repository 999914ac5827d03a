"""Feedback: customer reviews (of the store's orders, or labelled text from other channels)."""

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

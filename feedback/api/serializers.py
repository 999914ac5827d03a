"""Serializers of the feedback API."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from access.pii import mask_pii, user_sees_personal_data
from feedback.models import QueueItem, QueueNote, ReplyTemplate, Review, ReviewAnalysis, ReviewReply, TopicKeyword
from feedback.services import MAX_ANALYZE_TEXTS


class ReviewAnalysisSerializer(serializers.ModelSerializer):
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = ReviewAnalysis
        fields = [
            "language",
            "sentiment",
            "probability",
            "distribution",
            "topics",
            "topic_evidence",
            "suspicious_score",
            "suspicious_reasons",
            "model_version",
            "analyzed_at",
        ]
        read_only_fields = fields

    def get_model_version(self, analysis) -> str | None:
        version = analysis.model_version
        return f"{version.registered_model.name}:v{version.version}" if version else None


class ReviewSerializer(serializers.ModelSerializer):
    order = serializers.SlugRelatedField(slug_field="external_id", read_only=True, allow_null=True)
    analysis = ReviewAnalysisSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "external_id",
            "source",
            "channel",
            "order",
            "score",
            "label",
            "title",
            "text",
            "language",
            "created_at_source",
            "answered_at",
            "analysis",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["order", "answered_at", "analysis", "created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not self.context.setdefault("_sees_pii", user_sees_personal_data(request.user)):
            # E-mails, phones, CPF/CNPJ numbers and addresses customers wrote into a review are masked for roles
            # without access.view_personal_data.
            data["title"], data["text"] = mask_pii(data["title"]), mask_pii(data["text"])
        return data


class ReviewBulkRowSerializer(serializers.Serializer):
    """One review of ``POST /api/v1/reviews/bulk/``: natural key (source, channel or order, external_id)."""

    external_id = serializers.CharField(max_length=64)
    source = serializers.ChoiceField(
        choices=[Review.Source.API, Review.Source.IMPORT, Review.Source.STORE], default=Review.Source.API
    )
    channel = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    order = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True, default="")
    score = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    label = serializers.ChoiceField(choices=Review.Label.choices, required=False, allow_blank=True)
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    language = serializers.CharField(max_length=8, required=False, allow_blank=True)
    created_at_source = serializers.DateTimeField(required=False, allow_null=True)

    def validate_order(self, value):
        if not value:
            return None
        order = self.context["bulk"]["orders"].get(value)
        if order is None:
            raise serializers.ValidationError(f"unknown order {value!r}")
        return order

    def validate(self, attrs):
        if (
            not (attrs.get("title") or "").strip()
            and not (attrs.get("text") or "").strip()
            and attrs.get("score") is None
        ):
            raise serializers.ValidationError("a review needs a score, a title or a text")
        if attrs.get("source") == Review.Source.STORE and not attrs.get("order"):
            raise serializers.ValidationError({"order": "store reviews belong to an order"})
        return attrs


class AnalyzeItemSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    language = serializers.CharField(max_length=8, required=False, allow_blank=True)


class AnalyzeRequestSerializer(serializers.Serializer):
    """``{"texts": ["...", ...]}`` or ``{"items": [{"id": "a1", "text": "..."}, ...]}``, at most 1,000."""

    texts = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False)
    items = AnalyzeItemSerializer(many=True, required=False)

    def validate(self, attrs):
        items = attrs.get("items")
        if items is None and attrs.get("texts") is None:
            raise serializers.ValidationError('send "texts" (a list of strings) or "items" (a list of {id, text})')
        if items is None:
            items = [{"id": str(i), "text": t} for i, t in enumerate(attrs["texts"])]
        if not items:
            raise serializers.ValidationError("no texts to analyse")
        if len(items) > MAX_ANALYZE_TEXTS:
            raise serializers.ValidationError(
                f"at most {MAX_ANALYZE_TEXTS} texts per request, got {len(items)}; split the batch "
                f"or use the analyze_text command for files"
            )
        return {"items": items}


class QueueNoteSerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = QueueNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class QueueItemSerializer(serializers.ModelSerializer):
    review = ReviewSerializer(read_only=True)
    assigned_to = serializers.StringRelatedField()

    class Meta:
        model = QueueItem
        fields = [
            "id",
            "state",
            "priority",
            "priority_reasons",
            "due_at",
            "assigned_to",
            "assigned_at",
            "resolved_at",
            "dismiss_reason",
            "review",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReassignSerializer(serializers.Serializer):
    agent = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
    )


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class ReplySerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = ReviewReply
        fields = ["id", "review", "author", "template", "suggested_body", "body", "sent_at"]
        read_only_fields = ["id", "review", "author", "template", "suggested_body", "sent_at"]


class ReplyTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReplyTemplate
        fields = ["id", "topic", "language", "name", "body", "is_active"]

    def validate_body(self, value):
        from feedback.ml.replies import unknown_placeholders

        unknown = unknown_placeholders(value)
        if unknown:
            raise serializers.ValidationError(f"unknown placeholder(s) {unknown}")
        return value


class TopicKeywordSerializer(serializers.ModelSerializer):
    class Meta:
        model = TopicKeyword
        fields = ["id", "topic", "language", "phrase", "is_active"]

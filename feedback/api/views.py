"""ViewSets of the feedback API: reviews (with bulk upsert), text analysis, the customer-service queue."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ecomops.api.bulk import BulkUpsertMixin, upsert_by_natural_key
from ecomops.api.idempotency import IdempotentCreateMixin
from feedback import services_queue as queue
from feedback.models import QueueItem, ReplyTemplate, Review, TopicKeyword
from feedback.services import NoActiveModel, reviews_schedule_analysis, texts_analyze
from orders.models import Order

from . import serializers


class ReviewFilter(filters.FilterSet):
    order = filters.CharFilter(field_name="order__external_id")
    sentiment = filters.CharFilter(field_name="analysis__sentiment")
    topic = filters.CharFilter(method="filter_topic")
    suspicious_min = filters.NumberFilter(field_name="analysis__suspicious_score", lookup_expr="gte")
    written_after = filters.DateTimeFilter(field_name="created_at_source", lookup_expr="gte")
    written_before = filters.DateTimeFilter(field_name="created_at_source", lookup_expr="lt")
    answered = filters.BooleanFilter(field_name="answered_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Review
        fields = ["source", "channel", "language", "score", "label"]

    def filter_topic(self, queryset, name, value):
        # JSON list containment is not portable to SQLite; match the quoted code inside the list instead.
        return queryset.filter(analysis__topics__icontains=f'"{value}"')


class ReviewViewSet(IdempotentCreateMixin, BulkUpsertMixin, viewsets.ModelViewSet):
    queryset = Review.objects.select_related(
        "order", "analysis", "analysis__model_version", "analysis__model_version__registered_model"
    ).order_by("-created_at_source", "-pk")
    serializer_class = serializers.ReviewSerializer
    filterset_class = ReviewFilter
    search_fields = ["external_id", "title", "text", "order__external_id"]
    ordering_fields = ["created_at_source", "score", "created_at", "analysis__suspicious_score"]
    bulk_serializer_class = serializers.ReviewBulkRowSerializer

    def perform_create(self, serializer):
        review = serializer.save(source=serializer.validated_data.get("source") or Review.Source.API)
        reviews_schedule_analysis(review_ids=[review.pk])

    def perform_update(self, serializer):
        review = serializer.save()
        reviews_schedule_analysis(review_ids=[review.pk])

    def bulk_prepare(self, rows):
        ids = {str(row["order"]) for row in rows if isinstance(row, dict) and row.get("order")}
        return {"orders": {o.external_id: o for o in Order.objects.filter(external_id__in=ids)}}

    def bulk_upsert_row(self, data, *, prepared, request):
        order = data.pop("order", None)
        lookup = {"source": data.pop("source"), "external_id": data.pop("external_id")}
        if order is not None:
            lookup["order"] = order
        else:
            lookup["order__isnull"] = True
            lookup["channel"] = data.pop("channel", "")
        existing = Review.objects.select_for_update().filter(**lookup).first()
        if existing is None and "order__isnull" in lookup:
            lookup.pop("order__isnull")
        return upsert_by_natural_key(Review, lookup=lookup, values=data, existing=existing)

    def bulk_apply(self, rows, *, prepared, request):
        results = super().bulk_apply(rows, prepared=prepared, request=request)
        changed = [r.id for r in results if str(r.status) in {"created", "updated"}]
        with transaction.atomic():
            reviews_schedule_analysis(review_ids=changed)
        return results


class AnalyzeView(APIView):
    """Score up to 1,000 texts that are not stored reviews: language, sentiment, probability, topics."""

    @extend_schema(
        request=serializers.AnalyzeRequestSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="One result per text, in request order."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="The texts are missing or invalid."),
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="The request body is larger than the server takes."),
            503: OpenApiResponse(OpenApiTypes.OBJECT, description="No active sentiment model (train one first)."),
        },
    )
    def post(self, request):
        try:
            payload = request.data
        except RequestDataTooBig:
            return Response(
                {
                    "detail": f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; "
                    f"send fewer or shorter texts per request, or use the analyze_text command for files"
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if isinstance(payload, list):
            payload = {"items": payload} if payload and isinstance(payload[0], dict) else {"texts": payload}
        serializer = serializers.AnalyzeRequestSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["items"]
        try:
            # a caller-supplied language overrides detection
            results = texts_analyze(
                texts=[item["text"] for item in items], languages=[item.get("language") or "" for item in items]
            )
        except NoActiveModel as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(
            {
                "results": [
                    {
                        "id": item.get("id", str(index)),
                        "language": result.language,
                        "sentiment": result.sentiment,
                        "probability": result.probability,
                        "distribution": result.distribution,
                        "topics": result.topics,
                        "model_version": result.model_version,
                    }
                    for index, (item, result) in enumerate(zip(items, results, strict=True))
                ]
            }
        )


class QueueItemFilter(filters.FilterSet):
    assigned_to = filters.CharFilter(field_name="assigned_to__username")
    overdue = filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = QueueItem
        fields = ["state"]

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        return queryset.filter(due_at__lt=timezone.now()) if value else queryset.exclude(due_at__lt=timezone.now())


class QueueItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The customer-service queue for agents and help-desk integrations; actions change an item's state."""

    queryset = QueueItem.objects.select_related(
        "assigned_to",
        "review",
        "review__order",
        "review__analysis",
        "review__analysis__model_version",
        "review__analysis__model_version__registered_model",
    ).order_by("-priority", "due_at", "pk")
    serializer_class = serializers.QueueItemSerializer
    filterset_class = QueueItemFilter
    ordering_fields = ["priority", "due_at", "created_at"]

    def _run(self, func, **kwargs):
        try:
            item = func(**kwargs)
        except queue.QueueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return Response(self.get_serializer(item).data)

    @extend_schema(request=None, responses={200: serializers.QueueItemSerializer, 204: None})
    @action(detail=False, methods=["post"])
    def claim(self, request):
        """Assign the highest-priority new item to the caller (204 when the queue is empty)."""
        item = queue.queue_claim_next(agent=request.user)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)

    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._run(queue.queue_start, item=self.get_object(), agent=request.user)

    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._run(queue.queue_release, item=self.get_object(), agent=request.user)

    @action(detail=True, methods=["post"])
    def wait(self, request, pk=None):
        return self._run(queue.queue_wait_for_customer, item=self.get_object(), agent=request.user)

    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._run(queue.queue_resolve, item=self.get_object(), agent=request.user)

    @extend_schema(request=serializers.DismissSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        data = serializers.DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(
            queue.queue_dismiss, item=self.get_object(), agent=request.user, reason=data.validated_data["reason"]
        )

    @extend_schema(request=serializers.ReassignSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        data = serializers.ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(
            queue.queue_reassign, item=self.get_object(), to_agent=data.validated_data["agent"], by=request.user
        )

    @extend_schema(request=serializers.QueueNoteSerializer, responses={201: serializers.QueueNoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        item = self.get_object()
        data = serializers.QueueNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = queue.queue_note_add(item=item, author=request.user, text=data.validated_data["text"])
        return Response(serializers.QueueNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def suggestion(self, request, pk=None):
        """The drafted reply for this item's review (the agent edits it before sending)."""
        suggestion = queue.reply_suggest(review=self.get_object().review)
        return Response(
            {
                "text": suggestion.text,
                "template": suggestion.template.pk if suggestion.template else None,
                "missing": list(suggestion.missing),
            }
        )

    @extend_schema(request=serializers.ReplySerializer, responses={201: serializers.ReplySerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """Record the reply the agent sent (as edited); the item moves to waiting for the customer."""
        item = self.get_object()
        data = serializers.ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            reply = queue.reply_send(
                review=item.review, body=data.validated_data["body"], author=request.user, item=item
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict)
        return Response(serializers.ReplySerializer(reply).data, status=status.HTTP_201_CREATED)


class ReplyTemplateViewSet(viewsets.ModelViewSet):
    queryset = ReplyTemplate.objects.order_by("language", "topic", "name", "pk")
    serializer_class = serializers.ReplyTemplateSerializer
    filterset_fields = ["topic", "language", "is_active"]


class TopicKeywordViewSet(viewsets.ModelViewSet):
    queryset = TopicKeyword.objects.order_by("topic", "language", "phrase", "pk")
    serializer_class = serializers.TopicKeywordSerializer
    filterset_fields = ["topic", "language", "is_active"]
    search_fields = ["phrase"]

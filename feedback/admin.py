"""Admin of feedback: reviews and their analysis, keywords and reply templates, and the agents' queue."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from access.pii import current_user_sees_personal_data, mask_personal_text
from ecomops.admin import ModelVersionColumnMixin, UsedModelVersionListFilter
from ecomops.jobs import job_start

from . import services_queue as queue
from .models import QueueItem, QueueNote, ReplyTemplate, Review, ReviewAnalysis, ReviewReply, TopicKeyword


def _customer_names(review) -> tuple[str, ...]:
    order = review.order if review.order_id else None
    return (order.customer.name,) if order is not None and order.customer.name else ()


def shown(text: str, review) -> str:
    """Review text (or a reply) as the current user may see it: personal data masked without the permission."""
    if not text or current_user_sees_personal_data():
        return text
    return mask_personal_text(text, names=_customer_names(review))


class MaskedTextAdmin:
    """Show ``masked_fields`` read-only and masked to users without ``access.view_personal_data``."""

    masked_fields: tuple[str, ...] = ()

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not current_user_sees_personal_data():
            exclude += [name for name in self.masked_fields if name not in exclude]
        return exclude

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not current_user_sees_personal_data():
            readonly = [name for name in readonly if name not in self.masked_fields]
            readonly += [f"masked_{name}" for name in self.masked_fields]
        return readonly

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not current_user_sees_personal_data():
            fields = [f"masked_{name}" if name in self.masked_fields else name for name in fields]
            fields = list(dict.fromkeys(fields))
        return fields


class ReviewAnalysisInline(admin.StackedInline):
    model = ReviewAnalysis
    can_delete = False
    extra = 0
    fields = [
        "language",
        "sentiment",
        "probability",
        "topics",
        "topic_evidence",
        "suspicious_score",
        "suspicious_reasons",
        "model_version",
        "analyzed_at",
    ]
    readonly_fields = fields


class SentimentFilter(admin.SimpleListFilter):
    title = "predicted sentiment"
    parameter_name = "sentiment"

    def lookups(self, request, model_admin):
        return [*Review.Label.choices, ("none", "Not scored")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(analysis__isnull=True)
        if self.value():
            return queryset.filter(analysis__sentiment=self.value())
        return queryset


@admin.register(Review)
class ReviewAdmin(MaskedTextAdmin, admin.ModelAdmin):
    list_display = [
        "external_id",
        "source",
        "channel",
        "score",
        "label",
        "language",
        "sentiment",
        "short_text",
        "created_at_source",
    ]
    list_filter = ["source", "language", "score", "label", SentimentFilter, "channel"]
    search_fields = ["external_id", "title", "text", "order__external_id"]
    autocomplete_fields = ["order"]
    list_select_related = ["analysis", "order__customer"]
    date_hierarchy = "created_at_source"
    ordering = ["-created_at_source", "-pk"]
    inlines = [ReviewAnalysisInline]
    actions = ["score_selected", "train_sentiment", "train_topics"]
    readonly_fields = ["answered_at"]
    masked_fields = ("title", "text")

    @admin.display(description="title")
    def masked_title(self, review):
        return shown(review.title, review)

    @admin.display(description="text")
    def masked_text(self, review):
        return shown(review.text, review)

    @admin.display(description="sentiment", ordering="analysis__sentiment")
    def sentiment(self, review):
        analysis = getattr(review, "analysis", None)
        return f"{analysis.sentiment} ({analysis.probability:.2f})" if analysis else "—"

    @admin.display(description="text")
    def short_text(self, review):
        text = shown(" / ".join(p for p in (review.title, review.text) if p), review)
        return text[:80] + ("…" if len(text) > 80 else "")

    @admin.action(description="Score selected reviews with the active model (job)", permissions=["change"])
    def score_selected(self, request, queryset):
        job = job_start(
            kind="score:sentiment",
            parameters={"review_ids": list(queryset.values_list("pk", flat=True))},
            requested_by=request.user,
            requested_via="admin",
        )
        self.message_user(request, f"job {job.pk} queued: scoring {queryset.count()} reviews")

    @admin.action(description="Train the sentiment models on all labelled reviews (job)", permissions=["change"])
    def train_sentiment(self, request, queryset):
        job = job_start(kind="train:sentiment", parameters={}, requested_by=request.user, requested_via="admin")
        self.message_user(request, f"job {job.pk} queued: train:sentiment")

    @admin.action(description="Train the complaint-topic model (job)", permissions=["change"])
    def train_topics(self, request, queryset):
        job = job_start(kind="train:topics", parameters={}, requested_by=request.user, requested_via="admin")
        self.message_user(request, f"job {job.pk} queued: train:topics")


@admin.register(ReviewAnalysis)
class ReviewAnalysisAdmin(ModelVersionColumnMixin, admin.ModelAdmin):
    """Moderation view: sort by suspicious score to see duplicates, bursts and contradicting ratings."""

    list_display = [
        "review",
        "language",
        "sentiment",
        "probability",
        "topics",
        "suspicious_score",
        "reasons",
        "model_version",
    ]
    list_filter = ["sentiment", "language", ("model_version", UsedModelVersionListFilter)]
    search_fields = ["review__external_id", "review__text"]
    list_select_related = ["review", "model_version", "model_version__registered_model"]
    ordering = ["-suspicious_score", "-pk"]
    readonly_fields = [f.name for f in ReviewAnalysis._meta.fields]

    @admin.display(description="reasons")
    def reasons(self, analysis):
        return "; ".join(analysis.suspicious_reasons or [])

    def has_add_permission(self, request):
        return False


@admin.register(TopicKeyword)
class TopicKeywordAdmin(admin.ModelAdmin):
    list_display = ["phrase", "topic", "language", "is_active"]
    list_editable = ["is_active"]
    list_filter = ["topic", "language", "is_active"]
    search_fields = ["phrase"]
    ordering = ["topic", "language", "phrase"]


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["topic", "language", "name", "body", "is_active"]

    def clean_body(self):
        from .ml.replies import PLACEHOLDERS, unknown_placeholders

        body = self.cleaned_data["body"]
        unknown = unknown_placeholders(body)
        if unknown:
            allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            raise ValidationError(f"unknown placeholder(s) {unknown}; use {allowed}")
        return body


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    form = ReplyTemplateForm
    list_display = ["name", "topic", "language", "is_active"]
    list_filter = ["topic", "language", "is_active"]
    search_fields = ["name", "body"]
    ordering = ["language", "topic", "name"]


class QueueNoteInline(admin.TabularInline):
    model = QueueNote
    extra = 0
    fields = ["text", "author", "created_at"]
    readonly_fields = ["text", "author", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class QueueItemForm(forms.ModelForm):
    """The agent's form: add a note, or send the (edited) suggested reply."""

    new_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Add internal note")
    reply = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90}),
        label="Reply to send",
        help_text="Suggested from the templates; edit it, then save to send. Leave empty to send nothing.",
    )

    send_reply = forms.BooleanField(required=False, label="Send this reply now")

    class Meta:
        model = QueueItem
        fields = []


@admin.register(QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    """Where agents work: claim the next item, read the review with its order, reply, resolve."""

    form = QueueItemForm
    change_list_template = "admin/feedback/queueitem/change_list.html"
    list_display = ["id", "state", "priority", "due_at", "overdue", "assigned_to", "review_link", "sentiment", "topics"]
    list_filter = ["state", ("assigned_to", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["review__external_id", "review__text", "review__order__external_id"]
    list_select_related = ["assigned_to", "review", "review__analysis"]
    ordering = ["-priority", "due_at", "pk"]
    inlines = [QueueNoteInline]
    actions = ["release_items", "resolve_items", "dismiss_as_spam"]
    readonly_fields = [
        "state",
        "priority",
        "priority_reasons",
        "due_at",
        "assigned_to",
        "assigned_at",
        "resolved_at",
        "dismiss_reason",
        "review_block",
        "order_block",
        "earlier_reviews",
        "replies_sent",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "state",
                    "priority",
                    "priority_reasons",
                    "due_at",
                    "assigned_to",
                    "assigned_at",
                    "resolved_at",
                    "dismiss_reason",
                ]
            },
        ),
        ("Review", {"fields": ["review_block", "order_block", "earlier_reviews", "replies_sent"]}),
        ("Work", {"fields": ["new_note", "reply", "send_reply"]}),
    ]

    def get_urls(self):
        return [
            path("claim/", self.admin_site.admin_view(self.claim_view), name="feedback_queueitem_claim")
        ] + super().get_urls()

    def claim_view(self, request):
        if not self.has_change_permission(request):
            messages.error(request, "you may not work the queue")
            return redirect("admin:feedback_queueitem_changelist")
        item = queue.queue_claim_next(agent=request.user)
        if item is None:
            messages.info(request, "the queue is empty")
            return redirect("admin:feedback_queueitem_changelist")
        return redirect("admin:feedback_queueitem_change", item.pk)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and not obj.review.replies.exists():
            form.base_fields["reply"].initial = shown(queue.reply_suggest(review=obj.review).text, obj.review)
        return form

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("new_note"):
            queue.queue_note_add(item=obj, author=request.user, text=form.cleaned_data["new_note"])
        body = (form.cleaned_data.get("reply") or "").strip()
        if body and form.cleaned_data.get("send_reply"):
            if obj.assigned_to_id is None:
                obj = queue.queue_reassign(item=obj, to_agent=request.user, by=request.user)
            queue.reply_send(review=obj.review, body=body, author=request.user, item=obj)
            messages.success(request, "reply recorded as sent")

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True)
    def overdue(self, item):
        from django.utils import timezone

        return bool(item.due_at and item.due_at < timezone.now() and item.state in QueueItem.OPEN_STATES)

    @admin.display(description="review")
    def review_link(self, item):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:feedback_review_change", args=[item.review_id]),
            shown(str(item.review.text or item.review.title), item.review)[:60] or item.review.external_id,
        )

    @admin.display(description="sentiment")
    def sentiment(self, item):
        analysis = getattr(item.review, "analysis", None)
        return analysis.sentiment if analysis else "—"

    @admin.display(description="topics")
    def topics(self, item):
        analysis = getattr(item.review, "analysis", None)
        return ", ".join(analysis.topics) if analysis else ""

    @admin.display(description="review")
    def review_block(self, item):
        review = item.review
        analysis = getattr(review, "analysis", None)
        return format_html(
            "<b>{}</b> {}★ — {}<br>{}<br><i>{}</i>",
            shown(review.title or "", review),
            review.score or "?",
            review.created_at_source or "",
            shown(review.text or "", review),
            f"{analysis.language}, {analysis.sentiment} ({analysis.probability:.2f}), topics: {', '.join(analysis.topics)}"
            if analysis
            else "not scored",
        )

    @admin.display(description="order and shipment")
    def order_block(self, item):
        order = item.review.order
        if order is None:
            return "no order (imported review)"
        lines = format_html_join(
            ", ",
            "{} × {}",
            ((line.quantity, line.product.name or line.product.sku) for line in order.lines.select_related("product")),
        )
        shipments = format_html_join(
            "; ",
            "{} {} (delivered {})",
            (
                (
                    s.carrier or "",
                    s.get_status_display() if hasattr(s, "get_status_display") else "",
                    getattr(s, "delivered_at", "") or "—",
                )
                for s in order.shipments.select_related("carrier")
            ),
        )
        return format_html(
            "Order {} ({}) bought {} — promised {} — delivered {}<br>Items: {}<br>Shipments: {}",
            order.external_id,
            order.get_status_display(),
            order.purchased_at,
            order.promised_delivery_date or "—",
            order.delivered_at or "—",
            lines,
            shipments or "—",
        )

    @admin.display(description="earlier reviews by this customer")
    def earlier_reviews(self, item):
        order = item.review.order
        if order is None:
            return "—"
        earlier = (
            Review.objects.filter(order__customer_id=order.customer_id)
            .exclude(pk=item.review_id)
            .order_by("-created_at_source")[:10]
        )
        return (
            format_html_join(
                "",
                "<div>{} {}★ {}</div>",
                (
                    (r.created_at_source or "", r.score or "?", shown(r.text or r.title, item.review)[:100])
                    for r in earlier
                ),
            )
            or "none"
        )

    @admin.display(description="replies sent")
    def replies_sent(self, item):
        return (
            format_html_join(
                "",
                "<div><i>{} by {}</i>: {}</div>",
                (
                    (r.sent_at, r.author, shown(r.body, item.review))
                    for r in item.review.replies.select_related("author")
                ),
            )
            or "none"
        )

    @admin.action(description="Release (back to the queue)", permissions=["change"])
    def release_items(self, request, queryset):
        self._each(request, queryset, lambda item: queue.queue_release(item=item, agent=request.user))

    @admin.action(description="Resolve", permissions=["change"])
    def resolve_items(self, request, queryset):
        self._each(request, queryset, lambda item: queue.queue_resolve(item=item, agent=request.user))

    @admin.action(description="Dismiss as spam / not actionable", permissions=["change"])
    def dismiss_as_spam(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda item: queue.queue_dismiss(
                item=item, agent=request.user, reason="dismissed from the admin list: not actionable"
            ),
        )

    def _each(self, request, queryset, func):
        done, refused = 0, []
        for item in queryset.order_by("pk"):
            try:
                func(item)
                done += 1
            except queue.QueueError as exc:
                refused.append(str(exc))
        self.message_user(request, f"{done} item(s) updated")
        for reason in refused[:10]:
            self.message_user(request, reason, level=messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        from .selectors import queue_health

        extra_context = {**(extra_context or {}), "queue_health": queue_health()}
        return super().changelist_view(request, extra_context)


@admin.register(ReviewReply)
class ReviewReplyAdmin(MaskedTextAdmin, admin.ModelAdmin):
    list_display = ["review", "author", "sent_at", "edited"]
    search_fields = ["review__external_id", "body"]
    list_select_related = ["review", "author"]
    ordering = ["-sent_at", "-pk"]
    readonly_fields = ["review", "author", "template", "suggested_body", "body", "sent_at"]
    masked_fields = ("suggested_body", "body")

    @admin.display(description="suggested body")
    def masked_suggested_body(self, reply):
        return shown(reply.suggested_body, reply.review)

    @admin.display(description="body")
    def masked_body(self, reply):
        return shown(reply.body, reply.review)

    @admin.display(boolean=True, description="edited by the agent")
    def edited(self, reply):
        return reply.body.strip() != reply.suggested_body.strip()

    def has_add_permission(self, request):
        return False

"""The customer-service queue (prioritised, claimed concurrently by agents) and reply drafting.

Claiming takes the highest-priority NEW item with ``select_for_update(skip_locked=True)`` (Postgres: two
agents never wait on or get the same row) and flips it with a conditional UPDATE, so even databases
without row locks (SQLite) never assign one item twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from ecomops.bulk import bulk_update_rows
from orders.models import Order, OrderLine

from .ml.replies import fill_template
from .ml.topics import SEVERITY
from .models import QueueItem, QueueNote, ReplyTemplate, Review, ReviewAnalysis, ReviewReply, Topic

logger = logging.getLogger(__name__)

# Hours a topic may wait before its item is overdue (most severe topic wins).
SLA_HOURS = {
    Topic.NOT_DELIVERED: 24,
    Topic.DAMAGED_QUALITY: 24,
    Topic.WRONG_ITEM: 24,
    Topic.PRICE_REFUND: 48,
    Topic.LATE_DELIVERY: 48,
    Topic.NOT_AS_DESCRIBED: 48,
    Topic.SELLER_COMMUNICATION: 48,
    Topic.OTHER: 72,
}
DEFAULT_SLA_HOURS = 72
SEVERE_TOPICS = {Topic.NOT_DELIVERED, Topic.DAMAGED_QUALITY}


class QueueError(Exception):
    """A queue action that is not allowed in the item's current state (the message says why)."""


# --------------------------------------------------------------------------- priority
@dataclass(frozen=True)
class Priority:
    """A queue priority (0-100) and the reasons that make it up."""

    value: float
    reasons: list[str]
    due_at: datetime | None


def _order_values(order_ids) -> dict[int, Decimal]:
    """Goods and freight of each order, in one query (orders without lines are absent: value 0)."""
    totals = (
        OrderLine.objects.filter(order_id__in={o for o in order_ids if o})
        .values("order_id")
        .annotate(v=Sum(F("unit_price") * F("quantity") + F("freight")))
        .values_list("order_id", "v")
    )
    return {order_id: Decimal(total or 0) for order_id, total in totals}


def queue_priority(
    *, review: Review, analysis: ReviewAnalysis | None, order_value: Decimal, earlier_negative: int, now: datetime
) -> Priority:
    """negative sentiment (≤35) + topic severity (≤25) + order value (≤10) + customer's earlier complaints
    (≤10) + waiting time against the topic's SLA (≤15) + unanswered (5)."""
    value, reasons = 0.0, []
    if analysis is not None and analysis.sentiment == Review.Label.NEGATIVE:
        value += 35 * analysis.probability
        reasons.append(f"negative sentiment ({analysis.probability:.2f})")
    elif review.score is not None and review.score <= 2:
        value += 25
        reasons.append(f"{review.score}-star rating")
    topics = list(analysis.topics) if analysis else []
    if topics:
        worst = max(topics, key=lambda t: SEVERITY.get(t, 0))
        value += 25 * SEVERITY.get(worst, 0)
        reasons.append(f"topic {worst}")
    if order_value:
        value += 10 * min(float(order_value) / 500.0, 1.0)
        reasons.append(f"order value {order_value:,.2f}")  # the same text whatever scale the database returns
    if earlier_negative:
        value += min(10, 5 * earlier_negative)
        reasons.append(f"{earlier_negative} earlier complaint(s) by this customer")
    sla = min((SLA_HOURS.get(t, DEFAULT_SLA_HOURS) for t in topics), default=DEFAULT_SLA_HOURS)
    arrived = review.created_at_source or review.created_at or now
    due_at = arrived + timedelta(hours=sla)
    waited = (now - arrived).total_seconds() / 3600
    value += 10 * min(waited / sla, 1.5)
    if now > due_at:
        reasons.append(f"overdue (SLA {sla}h)")
    if review.answered_at is None:
        value += 5
        reasons.append("unanswered")
    return Priority(round(min(value, 100.0), 2), reasons, due_at)


def _needs_attention(review: Review, analysis: ReviewAnalysis | None) -> bool:
    if review.answered_at is not None:
        return False
    if analysis is not None and (
        analysis.sentiment == Review.Label.NEGATIVE or SEVERE_TOPICS & set(analysis.topics or [])
    ):
        return True
    return review.score is not None and review.score <= 2


def queue_items_sync(*, review_ids: list[int], now: datetime | None = None) -> int:
    """Create or re-prioritise the queue items of these reviews. Returns how many items were created."""
    now = now or timezone.now()
    reviews = list(Review.objects.filter(pk__in=review_ids).select_related("analysis", "order").order_by("pk"))
    existing = {i.review_id: i for i in QueueItem.objects.filter(review_id__in=review_ids)}
    customers = {r.order.customer_id for r in reviews if r.order_id}
    negative_by_customer: dict[int, list[tuple[int, datetime]]] = {}
    for customer_id, pk, written in (
        ReviewAnalysis.objects.filter(sentiment=Review.Label.NEGATIVE, review__order__customer_id__in=customers)
        .values_list("review__order__customer_id", "review_id", "review__created_at_source")
        .order_by("review_id")
    ):
        negative_by_customer.setdefault(customer_id, []).append((pk, written))
    order_values = _order_values(r.order_id for r in reviews)
    create, update = [], []
    for review in reviews:
        analysis = getattr(review, "analysis", None)
        item = existing.get(review.pk)
        if item is None and not _needs_attention(review, analysis):
            continue
        if item is not None and item.state not in QueueItem.OPEN_STATES:
            continue  # resolved or dismissed: its priority no longer matters
        earlier = 0
        if review.order_id:
            earlier = sum(
                1
                for pk, written in negative_by_customer.get(review.order.customer_id, [])
                if pk != review.pk and (written or now) < (review.created_at_source or now)
            )
        priority = queue_priority(
            review=review,
            analysis=analysis,
            order_value=order_values.get(review.order_id, Decimal(0)),
            earlier_negative=earlier,
            now=now,
        )
        values = {"priority": priority.value, "priority_reasons": priority.reasons, "due_at": priority.due_at}
        if item is None:
            create.append(QueueItem(review=review, **values))
        else:
            update.append({"pk": item.pk, **values, "updated_at": now})
    # one INSERT and one batched UPDATE per call instead of a query per review (and one per order value): at
    # marketplace scale the per-review queries were most of a full re-score's queue step
    with transaction.atomic():
        QueueItem.objects.bulk_create(create)
        if update:
            bulk_update_rows(QueueItem, update, ["priority", "priority_reasons", "due_at", "updated_at"])
    return len(create)


def queue_refresh_priorities(*, now: datetime | None = None) -> int:
    """Recompute priorities of open items (waiting time grows); run by a schedule."""
    ids = list(QueueItem.objects.filter(state__in=QueueItem.OPEN_STATES).values_list("review_id", flat=True))
    for start in range(0, len(ids), 1000):
        queue_items_sync(review_ids=ids[start : start + 1000], now=now)
    return len(ids)


# --------------------------------------------------------------------------- agent actions
def queue_claim_next(*, agent) -> QueueItem | None:
    """Assign the highest-priority NEW item to ``agent``; ``None`` when the queue is empty."""
    for _attempt in range(10):
        with transaction.atomic():
            item = (
                QueueItem.objects.select_for_update(skip_locked=True)
                .filter(state=QueueItem.State.NEW)
                .order_by("-priority", "due_at", "pk")
                .first()
            )
            if item is None:
                return None
            now = timezone.now()
            taken = QueueItem.objects.filter(pk=item.pk, state=QueueItem.State.NEW).update(
                state=QueueItem.State.ASSIGNED, assigned_to=agent, assigned_at=now, updated_at=now
            )
            if taken:
                item.refresh_from_db()
                return item
    return None


def _transition(item: QueueItem, *, allowed: tuple[str, ...], action: str, **values) -> QueueItem:
    now = timezone.now()
    updated = QueueItem.objects.filter(pk=item.pk, state__in=allowed).update(updated_at=now, **values)
    if not updated:
        item.refresh_from_db()
        raise QueueError(f"cannot {action} item {item.pk}: it is {item.get_state_display().lower()}")
    item.refresh_from_db()
    return item


def _check_owner(item: QueueItem, agent) -> None:
    if item.assigned_to_id and item.assigned_to_id != agent.pk and not agent.is_superuser:
        raise QueueError(f"item {item.pk} is assigned to {item.assigned_to}, not to you")


def queue_start(*, item: QueueItem, agent) -> QueueItem:
    _check_owner(item, agent)
    return _transition(
        item,
        allowed=(QueueItem.State.ASSIGNED, QueueItem.State.WAITING),
        action="start",
        state=QueueItem.State.IN_PROGRESS,
    )


def queue_release(*, item: QueueItem, agent) -> QueueItem:
    """Give an item back to the queue (NEW, unassigned)."""
    _check_owner(item, agent)
    return _transition(
        item,
        allowed=(QueueItem.State.ASSIGNED, QueueItem.State.IN_PROGRESS, QueueItem.State.WAITING),
        action="release",
        state=QueueItem.State.NEW,
        assigned_to=None,
        assigned_at=None,
    )


def queue_reassign(*, item: QueueItem, to_agent, by) -> QueueItem:
    if not to_agent.is_active:
        raise QueueError(f"{to_agent} is not an active user")
    item = _transition(
        item,
        allowed=QueueItem.OPEN_STATES,
        action="reassign",
        assigned_to=to_agent,
        assigned_at=timezone.now(),
    )
    if item.state == QueueItem.State.NEW:
        item = _transition(item, allowed=(QueueItem.State.NEW,), action="assign", state=QueueItem.State.ASSIGNED)
    QueueNote.objects.create(item=item, author=by, text=f"reassigned to {to_agent}")
    return item


def queue_wait_for_customer(*, item: QueueItem, agent) -> QueueItem:
    _check_owner(item, agent)
    return _transition(
        item,
        allowed=(QueueItem.State.ASSIGNED, QueueItem.State.IN_PROGRESS),
        action="wait",
        state=QueueItem.State.WAITING,
    )


def queue_resolve(*, item: QueueItem, agent) -> QueueItem:
    _check_owner(item, agent)
    return _transition(
        item,
        allowed=(QueueItem.State.ASSIGNED, QueueItem.State.IN_PROGRESS, QueueItem.State.WAITING),
        action="resolve",
        state=QueueItem.State.RESOLVED,
        resolved_at=timezone.now(),
    )


def queue_dismiss(*, item: QueueItem, agent, reason: str) -> QueueItem:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a dismissal needs a reason"})
    return _transition(
        item,
        allowed=QueueItem.OPEN_STATES,
        action="dismiss",
        state=QueueItem.State.DISMISSED,
        dismiss_reason=reason[:255],
        resolved_at=timezone.now(),
    )


def queue_note_add(*, item: QueueItem, author, text: str) -> QueueNote:
    if not (text or "").strip():
        raise ValidationError({"text": "a note cannot be empty"})
    return QueueNote.objects.create(item=item, author=author, text=text.strip())


# --------------------------------------------------------------------------- replies
def order_facts(*, order: Order | None, customer_name: str = "") -> dict[str, str]:
    """Facts a reply may quote: order number, items, dates, delivery status."""
    if order is None:
        return {"customer_name": customer_name}
    lines = list(order.lines.select_related("product").order_by("line_number"))
    items = ", ".join(
        f"{line.quantity} × {line.product.name or line.product.sku}"
        if line.quantity > 1
        else (line.product.name or line.product.sku)
        for line in lines
    )
    delivered = order.delivered_at
    return {
        "customer_name": customer_name or order.customer.name,
        "order_number": order.external_id,
        "items": items,
        "purchase_date": f"{order.purchased_at:%Y-%m-%d}" if order.purchased_at else "",
        "expected_delivery": f"{order.promised_delivery_date:%Y-%m-%d}" if order.promised_delivery_date else "",
        "delivered_on": f"{delivered:%Y-%m-%d}" if delivered else "",
        "delivery_status": order.get_status_display(),
    }


@dataclass(frozen=True)
class ReplySuggestion:
    """A drafted reply: the text, the template used (if any) and facts that were not available."""

    text: str
    template: ReplyTemplate | None
    missing: tuple[str, ...]


def reply_template_choose(*, topics: list[str], language: str) -> ReplyTemplate | None:
    """Most severe topic in the review's language, then the language's general reply, then English."""
    ordered = sorted(topics, key=lambda t: -SEVERITY.get(t, 0))
    active = ReplyTemplate.objects.filter(is_active=True).order_by("name", "pk")
    for lang in dict.fromkeys([language, "en"]):
        for topic in [*ordered, ""]:
            template = active.filter(topic=topic, language=lang).first()
            if template is not None:
                return template
    return None


def reply_suggest(*, review: Review) -> ReplySuggestion:
    analysis = ReviewAnalysis.objects.filter(review=review).first()
    topics = list(analysis.topics) if analysis else []
    language = (analysis.language if analysis else "") or review.language or "en"
    template = reply_template_choose(topics=topics, language=language)
    if template is None:
        return ReplySuggestion(text="", template=None, missing=())
    order = Order.objects.select_related("customer").filter(pk=review.order_id).first() if review.order_id else None
    facts = order_facts(order=order)
    worst = sorted(topics, key=lambda t: -SEVERITY.get(t, 0))
    facts["topic"] = Topic(worst[0]).label.lower() if worst else ""
    filled = fill_template(template.body, facts)
    return ReplySuggestion(text=filled.text, template=template, missing=filled.missing)


def reply_send(*, review: Review, body: str, author, item: QueueItem | None = None) -> ReviewReply:
    """Record the reply the agent sent (as edited), mark the review answered, and move its item to waiting."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "the reply is empty"})
    suggestion = reply_suggest(review=review)
    now = timezone.now()
    with transaction.atomic():
        reply = ReviewReply.objects.create(
            review=review,
            author=author,
            template=suggestion.template,
            suggested_body=suggestion.text,
            body=body,
            sent_at=now,
        )
        Review.objects.filter(pk=review.pk, answered_at__isnull=True).update(answered_at=now)
        item = item or QueueItem.objects.filter(review=review).first()
        if item is not None and item.state in (QueueItem.State.ASSIGNED, QueueItem.State.IN_PROGRESS):
            QueueItem.objects.filter(pk=item.pk).update(state=QueueItem.State.WAITING, updated_at=now)
    return reply


DEFAULT_TEMPLATES = [
    (
        "",
        "pt",
        "Geral",
        "Olá {customer_name}, obrigado pelo seu comentário sobre o pedido {order_number}. "
        "Sentimos muito pelo ocorrido com {items}. Nossa equipe já está verificando e retornará em breve.",
    ),
    (
        Topic.LATE_DELIVERY,
        "pt",
        "Atraso",
        "Olá {customer_name}, pedimos desculpas pelo atraso do pedido {order_number} "
        "({items}). A previsão de entrega era {expected_delivery}; já acionamos a transportadora e acompanharemos até a entrega.",
    ),
    (
        Topic.NOT_DELIVERED,
        "pt",
        "Não entregue",
        "Olá {customer_name}, sentimos muito: o pedido {order_number} ({items}) "
        "ainda não foi entregue por completo (previsto para {expected_delivery}). Abrimos uma investigação e, se necessário, "
        "faremos o reenvio ou o reembolso.",
    ),
    (
        Topic.DAMAGED_QUALITY,
        "pt",
        "Avaria",
        "Olá {customer_name}, lamentamos que {items} do pedido {order_number} tenha "
        "chegado com problema. Vamos providenciar a troca ou o reembolso; responda a esta mensagem com uma foto, por favor.",
    ),
    (
        "",
        "en",
        "General",
        "Hello {customer_name}, thank you for your feedback on order {order_number}. We are sorry about "
        "your experience with {items}; our team is looking into it and will get back to you shortly.",
    ),
    (
        Topic.LATE_DELIVERY,
        "en",
        "Late",
        "Hello {customer_name}, we apologise that order {order_number} ({items}) is late. "
        "It was expected on {expected_delivery}; we have contacted the carrier and will follow it until it arrives.",
    ),
    (
        Topic.NOT_DELIVERED,
        "en",
        "Not delivered",
        "Hello {customer_name}, we are sorry that order {order_number} ({items}) "
        "has not fully arrived (expected {expected_delivery}). We opened an investigation and will resend or refund it.",
    ),
    (
        Topic.DAMAGED_QUALITY,
        "en",
        "Damaged",
        "Hello {customer_name}, we are sorry that {items} from order {order_number} "
        "arrived damaged. We will replace or refund it; please reply with a photo.",
    ),
    (
        "",
        "zh",
        "通用",
        "{customer_name}您好，感谢您对订单{order_number}的反馈。对于{items}给您带来的不便我们深表歉意，我们会尽快处理并回复您。",
    ),
]


def reply_templates_seed() -> int:
    """Create the built-in reply templates that do not exist yet (edited ones are kept). Returns rows created."""
    created = 0
    for topic, language, name, body in DEFAULT_TEMPLATES:
        _, was_created = ReplyTemplate.objects.get_or_create(
            topic=topic, language=language, name=name, defaults={"body": body}
        )
        created += was_created
    return created


CUSTOMER_SERVICE_GROUP = "customer-service agent"
CUSTOMER_SERVICE_PERMISSIONS = [
    ("feedback", "view_review"),
    ("feedback", "view_reviewanalysis"),
    ("feedback", "view_queueitem"),
    ("feedback", "change_queueitem"),
    ("feedback", "view_queuenote"),
    ("feedback", "add_queuenote"),
    ("feedback", "view_reviewreply"),
    ("feedback", "add_reviewreply"),
    ("feedback", "view_replytemplate"),
    ("orders", "view_order"),
    ("orders", "view_orderline"),
    ("logistics", "view_shipment"),
    ("logistics", "view_trackingevent"),
    ("catalog", "view_customer"),
    ("catalog", "view_product"),
]


def customer_service_group_setup() -> Group:
    """The agents' group (the ``customer-service agent`` role of ``access.roles``), synced to exactly its grants.

    The permission list above is the feedback app's statement of what agents need; the access app builds the
    role from it, so there is one agents' group, not two.
    """
    from access.roles import sync_roles

    sync_roles()
    return Group.objects.get(name=CUSTOMER_SERVICE_GROUP)

"""The customer-service queue: priority order, claiming (never twice), transitions, replies."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from feedback import services_queue as queue
from feedback.models import QueueItem, Review, ReviewReply
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.feedback.factories import QueueItemFactory, ReplyTemplateFactory, ReviewAnalysisFactory, ReviewFactory

NOW = datetime(2018, 3, 12, 12, 0, tzinfo=UTC)


@pytest.fixture
def agents(django_user_model, db):
    return [django_user_model.objects.create_user(username=f"agent{i}", password=None) for i in range(10)]


def test_priority_adds_up_its_reasons(db):
    review = ReviewFactory(score=1, created_at_source=NOW - timedelta(hours=12))
    analysis = ReviewAnalysisFactory(review=review, sentiment="negative", probability=0.8, topics=["not_delivered"])
    priority = queue.queue_priority(
        review=review, analysis=analysis, order_value=Decimal("250"), earlier_negative=1, now=NOW
    )
    # 35*0.8 + 25*1.0 (not delivered) + 10*0.5 (order 250/500) + 5 (one earlier complaint) + 10*12/24 (SLA 24h) + 5 (unanswered)
    assert priority.value == 28 + 25 + 5 + 5 + 5 + 5
    assert priority.due_at == NOW + timedelta(hours=12)
    assert priority.reasons == [
        "negative sentiment (0.80)",
        "topic not_delivered",
        "order value 250.00",
        "1 earlier complaint(s) by this customer",
        "unanswered",
    ]


def test_sync_queues_only_reviews_that_need_attention(db):
    negative = ReviewAnalysisFactory(sentiment="negative", topics=["late_delivery"]).review
    positive = ReviewAnalysisFactory(sentiment="positive", probability=0.9).review
    answered = ReviewAnalysisFactory(sentiment="negative", review=ReviewFactory(answered_at=NOW)).review
    one_star_unscored = ReviewFactory(score=1)
    assert (
        queue.queue_items_sync(review_ids=[negative.pk, positive.pk, answered.pk, one_star_unscored.pk], now=NOW) == 2
    )
    assert sorted(QueueItem.objects.values_list("review_id", flat=True)) == sorted([negative.pk, one_star_unscored.pk])
    # syncing again re-prioritises, it does not duplicate
    assert queue.queue_items_sync(review_ids=[negative.pk], now=NOW) == 0
    assert QueueItem.objects.count() == 2


def test_sync_priorities_use_each_orders_value_in_a_constant_number_of_queries(db):
    """Order values come from one aggregate and items are written in batches: the queries do not grow with the
    reviews, and each item's priority still counts its own order's goods and freight."""
    from django.test.utils import CaptureQueriesContext

    def reviews(k: int, first: int) -> list[Review]:
        out = []
        for m in range(first, first + k):
            order = OrderFactory(customer=CustomerFactory())
            OrderLineFactory(order=order, unit_price=Decimal(50 * m), quantity=2, freight=Decimal(10))
            out.append(ReviewFactory(order=order, score=1, created_at_source=NOW))
        return out

    few, many = reviews(2, 1), reviews(8, 3)
    with CaptureQueriesContext(connection) as first:
        assert queue.queue_items_sync(review_ids=[r.pk for r in few], now=NOW) == 2
    with CaptureQueriesContext(connection) as second:
        assert queue.queue_items_sync(review_ids=[r.pk for r in many], now=NOW) == 8
    assert len(second) == len(first)
    with CaptureQueriesContext(connection) as again:  # every item exists: re-prioritised in one batch
        assert queue.queue_items_sync(review_ids=[r.pk for r in few + many], now=NOW) == 0
    assert len(again) == len(first)
    items = QueueItem.objects.select_related("review__order")
    # order value 100 m + 10: the reason names the order's own goods and freight, two decimals on every database
    assert sorted(next(x for x in i.priority_reasons if x.startswith("order value")) for i in items) == sorted(
        f"order value {100 * m + 10:,.2f}" for m in range(1, 11)
    )


def test_claim_takes_the_highest_priority_new_item(agents):
    low = QueueItemFactory(priority=10)
    high = QueueItemFactory(priority=90)
    taken = QueueItemFactory(priority=99, state=QueueItem.State.ASSIGNED, assigned_to=agents[2])
    first = queue.queue_claim_next(agent=agents[0])
    second = queue.queue_claim_next(agent=agents[1])
    assert (first.pk, first.state, first.assigned_to) == (high.pk, "assigned", agents[0])
    assert (second.pk, second.assigned_to) == (low.pk, agents[1])
    assert queue.queue_claim_next(agent=agents[3]) is None
    assert QueueItem.objects.get(pk=taken.pk).assigned_to == agents[2]


def test_ten_agents_claiming_concurrently_never_get_the_same_item(postgres_only, agents, django_db_blocker):
    pytest.importorskip("psycopg")
    items = [QueueItemFactory(priority=float(i)) for i in range(25)]
    # threads need committed rows: this test runs with transaction=True (see marker below)
    results: dict[str, list[int]] = {a.username: [] for a in agents}
    errors = []
    barrier = threading.Barrier(len(agents))

    def work(agent):
        try:
            barrier.wait()
            while True:
                item = queue.queue_claim_next(agent=agent)
                if item is None:
                    break
                results[agent.username].append(item.pk)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    claimed = [pk for pks in results.values() for pk in pks]
    assert sorted(claimed) == sorted(item.pk for item in items)
    assert len(claimed) == len(set(claimed)) == 25
    assert QueueItem.objects.filter(state="assigned").count() == 25


test_ten_agents_claiming_concurrently_never_get_the_same_item = pytest.mark.django_db(transaction=True)(
    test_ten_agents_claiming_concurrently_never_get_the_same_item
)


def test_transitions_and_their_refusals(agents):
    item = QueueItemFactory()
    agent, other = agents[0], agents[1]
    item = queue.queue_claim_next(agent=agent)
    with pytest.raises(queue.QueueError, match=f"item {item.pk} is assigned to agent0, not to you"):
        queue.queue_resolve(item=item, agent=other)
    item = queue.queue_start(item=item, agent=agent)
    assert item.state == "in_progress"
    item = queue.queue_release(item=item, agent=agent)
    assert (item.state, item.assigned_to) == ("new", None)
    item = queue.queue_reassign(item=item, to_agent=other, by=agent)
    assert (item.state, item.assigned_to) == ("assigned", other)
    assert list(item.notes.values_list("text", flat=True)) == ["reassigned to agent1"]
    item = queue.queue_resolve(item=item, agent=other)
    assert item.state == "resolved" and item.resolved_at is not None
    with pytest.raises(queue.QueueError, match=f"cannot release item {item.pk}: it is resolved"):
        queue.queue_release(item=item, agent=other)


def test_dismiss_needs_a_reason_and_changes_nothing_without_one(agents):
    item = QueueItemFactory()
    with pytest.raises(ValidationError):
        queue.queue_dismiss(item=item, agent=agents[0], reason="  ")
    assert QueueItem.objects.get(pk=item.pk).state == "new"
    item = queue.queue_dismiss(item=item, agent=agents[0], reason="spam")
    assert (item.state, item.dismiss_reason) == ("dismissed", "spam")


@pytest.fixture
def order_review(db):
    customer = CustomerFactory(name="Ana")
    order = OrderFactory(
        external_id="BR-1001",
        customer=customer,
        promised_delivery_date=date(2018, 3, 20),
        delivered_at=None,
        purchased_at=datetime(2018, 3, 1, tzinfo=UTC),
    )
    OrderLineFactory(order=order, line_number=1, product=ProductFactory(name="Caneca azul"), quantity=2)
    OrderLineFactory(order=order, line_number=2, product=ProductFactory(name="Prato"), quantity=1)
    review = ReviewFactory(order=order, score=1, text="ainda não recebi")
    ReviewAnalysisFactory(review=review, language="pt", topics=["late_delivery", "not_delivered"])
    return review


def test_reply_suggestion_uses_the_most_severe_topic_template_filled_with_order_facts(order_review):
    ReplyTemplateFactory(topic="", language="pt", name="geral", body="Olá {customer_name}")
    ReplyTemplateFactory(topic="late_delivery", language="pt", name="atraso", body="Atraso no pedido {order_number}")
    ReplyTemplateFactory(
        topic="not_delivered",
        language="pt",
        name="não entregue",
        body="Olá {customer_name}, o pedido {order_number} ({items}) era previsto para {expected_delivery}; entregue em {delivered_on}.",
    )
    ReplyTemplateFactory(topic="not_delivered", language="en", name="not delivered", body="Order {order_number}")
    suggestion = queue.reply_suggest(review=order_review)
    assert (
        suggestion.text
        == "Olá Ana, o pedido BR-1001 (2 × Caneca azul, Prato) era previsto para 2018-03-20; entregue em [delivered_on]."
    )
    assert suggestion.template.name == "não entregue"
    assert suggestion.missing == ("delivered_on",)


def test_reply_falls_back_to_the_general_template_then_english(order_review):
    ReplyTemplateFactory(topic="", language="en", name="general", body="Hello, order {order_number}")
    assert queue.reply_suggest(review=order_review).text == "Hello, order BR-1001"
    ReplyTemplateFactory(topic="", language="pt", name="geral", body="Olá, pedido {order_number}")
    assert queue.reply_suggest(review=order_review).text == "Olá, pedido BR-1001"


def test_sending_a_reply_keeps_what_was_sent_and_marks_the_review_answered(order_review, agents):
    ReplyTemplateFactory(topic="", language="pt", name="geral", body="Olá {customer_name}, pedido {order_number}")
    item = QueueItemFactory(review=order_review)
    item = queue.queue_claim_next(agent=agents[0])
    reply = queue.reply_send(
        review=order_review, body="Olá Ana, já reenviamos o pedido BR-1001.", author=agents[0], item=item
    )
    assert (reply.suggested_body, reply.body) == ("Olá Ana, pedido BR-1001", "Olá Ana, já reenviamos o pedido BR-1001.")
    assert Review.objects.get(pk=order_review.pk).answered_at == reply.sent_at
    assert QueueItem.objects.get(pk=item.pk).state == "waiting"
    with pytest.raises(ValidationError):
        queue.reply_send(review=order_review, body="   ", author=agents[0])
    assert ReviewReply.objects.count() == 1


def test_queue_api_claim_and_resolve(api_client, operator_user):
    QueueItemFactory(priority=5)
    response = api_client.post("/api/v1/feedback/queue/claim/")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["assigned_to"]) == ("assigned", "operator")
    assert api_client.post("/api/v1/feedback/queue/claim/").status_code == 204
    resolved = api_client.post(f"/api/v1/feedback/queue/{body['id']}/resolve/")
    assert (resolved.status_code, resolved.json()["state"]) == (200, "resolved")
    again = api_client.post(f"/api/v1/feedback/queue/{body['id']}/resolve/")
    assert (again.status_code, again.json()) == (409, {"detail": f"cannot resolve item {body['id']}: it is resolved"})


def test_queue_list_query_count_is_constant(api_client, django_assert_max_num_queries):
    for _ in range(3):
        QueueItemFactory(review=ReviewAnalysisFactory().review)
    with django_assert_max_num_queries(8) as first:
        assert api_client.get("/api/v1/feedback/queue/").status_code == 200
    for _ in range(10):
        QueueItemFactory(review=ReviewAnalysisFactory().review)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = api_client.get("/api/v1/feedback/queue/")
    assert response.json()["count"] == 13


def test_customer_service_group_has_no_pricing_or_inventory_permissions(db):
    group = queue.customer_service_group_setup()
    apps = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert apps <= {"feedback", "orders", "logistics", "catalog", "access"}
    assert group.name == "customer-service agent"
    assert group.permissions.filter(codename="change_queueitem").exists()
    assert not group.permissions.filter(codename__startswith="delete_").exists()

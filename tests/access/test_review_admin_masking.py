"""Review text, replies and the suspicious-reviews CSV are masked in the admin and reports without the permission."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from feedback.models import QueueItem, ReviewAnalysis, ReviewReply
from tests.factories import CustomerFactory, OrderFactory
from tests.feedback.factories import ReviewFactory

EMAIL, PHONE, CPF = "maria.souza@example.com", "(11) 98765-4321", "123.456.789-09"
TEXT = f"Não chegou! Me liguem no {PHONE} ou escrevam para {EMAIL}, CPF {CPF}"
MASKED_TEXT = "Não chegou! Me liguem no [phone] ou escrevam para [email], CPF [cpf]"
REPLY = "Olá Maria Souza, sentimos muito pelo atraso do pedido order-77."
MASKED_REPLY = "Olá M. S., sentimos muito pelo atraso do pedido order-77."
RAW = (EMAIL, PHONE, CPF, "Maria Souza")


@pytest.fixture
def case(db):
    customer = CustomerFactory(name="Maria Souza", email=EMAIL)
    order = OrderFactory(customer=customer, external_id="order-77")
    review = ReviewFactory(order=order, title="Atraso", text=TEXT, score=1)
    item = QueueItem.objects.create(review=review, state=QueueItem.State.NEW)
    reply = ReviewReply.objects.create(review=review, suggested_body=REPLY, body=REPLY, sent_at=timezone.now())
    ReviewAnalysis.objects.create(
        review=review,
        language="pt",
        sentiment="negative",
        probability=0.9,
        suspicious_score=0.7,
        analyzed_at=timezone.now(),
    )
    return {"review": review, "item": item, "reply": reply}


def _logged_in(client, django_user_model, role):
    user = django_user_model.objects.create_user(username=role.replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def _pages(case):
    return {
        "review list": reverse("admin:feedback_review_changelist"),
        "review page": reverse("admin:feedback_review_change", args=[case["review"].pk]),
        "queue list": reverse("admin:feedback_queueitem_changelist"),
        "queue item page": reverse("admin:feedback_queueitem_change", args=[case["item"].pk]),
        "reply page": reverse("admin:feedback_reviewreply_change", args=[case["reply"].pk]),
    }


def test_operator_sees_review_admin_pages_masked(client, django_user_model, case):
    client = _logged_in(client, django_user_model, "operator")
    for name, url in _pages(case).items():
        response = client.get(url)
        assert response.status_code == 200, name
        body = response.content.decode()
        leaked = [raw for raw in RAW if raw in body]
        assert leaked == [], (name, leaked)
    body = client.get(_pages(case)["review page"]).content.decode()
    assert MASKED_TEXT in body
    assert 'name="text"' not in body  # no form field holding the raw text
    assert MASKED_REPLY in client.get(_pages(case)["reply page"]).content.decode()
    assert MASKED_TEXT[:60] in client.get(_pages(case)["queue list"]).content.decode()


def test_customer_service_agent_sees_them_unmasked(client, django_user_model, case):
    client = _logged_in(client, django_user_model, "customer-service agent")
    body = client.get(_pages(case)["review page"]).content.decode()
    assert EMAIL in body and PHONE in body and CPF in body
    body = client.get(_pages(case)["queue item page"]).content.decode()
    assert EMAIL in body and "Maria Souza" in body
    assert REPLY in client.get(_pages(case)["reply page"]).content.decode()


def _csv_rows(client):
    response = client.get(reverse("feedback_reports:suspicious"), {"format": "csv"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_suspicious_reviews_csv_is_masked_without_the_permission(client, django_user_model, case):
    rows = _csv_rows(_logged_in(client, django_user_model, "operator"))
    assert [row["text"] for row in rows] == [MASKED_TEXT]
    page = client.get(reverse("feedback_reports:suspicious")).content.decode()
    assert EMAIL not in page and "[email]" in page


def test_suspicious_reviews_csv_is_plain_with_the_permission(client, django_user_model, case):
    rows = _csv_rows(_logged_in(client, django_user_model, "administrator"))
    assert [row["text"] for row in rows] == [TEXT[:200]]

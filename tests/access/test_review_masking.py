import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from feedback.models import Review

TEXT = "Entreguem na Rua das Flores, 123 ou liguem (11) 98765-4321, maria@example.com"


@pytest.fixture
def review(db):
    return Review.objects.create(external_id="r1", source="api", channel="web", score=1, title="ruim", text=TEXT)


def _client_in(django_user_model, group_name: str) -> APIClient:
    user = django_user_model.objects.create_user(username=group_name.replace(" ", "-"), password="x-unused-pass-9")
    user.groups.add(Group.objects.get(name=group_name))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_operator_sees_review_text_with_personal_data_masked(django_user_model, review):
    response = _client_in(django_user_model, "operator").get(f"/api/v1/reviews/{review.pk}/")
    assert response.status_code == 200
    assert response.json()["text"] == "Entreguem na [address] ou liguem [phone], [email]"


def test_customer_service_agent_sees_it_unmasked(django_user_model, review):
    response = _client_in(django_user_model, "customer-service agent").get(f"/api/v1/reviews/{review.pk}/")
    assert response.status_code == 200
    assert response.json()["text"] == TEXT

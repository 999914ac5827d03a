from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.test import APIRequestFactory

from access.models import APIKey
from access.services import api_key_create
from catalog.models import Category
from ecomops.models import JobRun


class _CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name"]


class _JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRun
        fields = ["id", "kind"]


class CategoryList(generics.ListAPIView):
    queryset = Category.objects.order_by("pk")
    serializer_class = _CategorySerializer


class JobList(generics.ListAPIView):
    queryset = JobRun.objects.order_by("pk")
    serializer_class = _JobSerializer


def _get(view, header: str | None):
    request = APIRequestFactory().get("/x/", HTTP_AUTHORIZATION=header) if header else APIRequestFactory().get("/x/")
    return view.as_view()(request)


@pytest.fixture
def integration_user(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="erp", password="x-unused-password-1")
    user.groups.add(Group.objects.get(name="integration"))
    return user


@pytest.mark.django_db
def test_only_the_hash_is_stored_and_the_key_authenticates(integration_user):
    key, plain = api_key_create(name="erp", user=integration_user, scopes=["catalog"])
    assert plain.split(".", 1)[1] not in key.hashed_secret
    assert key.hashed_secret == APIKey.hash_secret(plain.split(".", 1)[1])
    response = _get(CategoryList, f"Api-Key {plain}")
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.django_db
def test_wrong_secret_expired_and_revoked_keys_are_refused(integration_user):
    key, plain = api_key_create(name="erp", user=integration_user, scopes=["catalog"])
    assert _get(CategoryList, f"Api-Key {key.prefix}.wrong").status_code == 401
    APIKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _get(CategoryList, f"Api-Key {plain}").status_code == 401
    APIKey.objects.filter(pk=key.pk).update(expires_at=None, revoked=True)
    assert _get(CategoryList, f"Api-Key {plain}").status_code == 401


@pytest.mark.django_db
def test_key_cannot_reach_an_app_outside_its_scopes(integration_user):
    _, plain = api_key_create(name="erp", user=integration_user, scopes=["orders"])
    # The user may view categories (integration role) but the key is scoped to orders only.
    assert _get(CategoryList, f"Api-Key {plain}").status_code == 403
    assert _get(CategoryList, None).status_code == 401

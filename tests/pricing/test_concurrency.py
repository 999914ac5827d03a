"""Two analysts approving the same recommendation at once create exactly one price row (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from pricing import services
from pricing.models import PriceChangeAudit, PriceHistory, PriceRecommendation

from .factories import PriceRecommendationFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_apply_once(postgres_only, django_user_model):
    first = django_user_model.objects.create_user(username="analyst-a")
    second = django_user_model.objects.create_user(username="analyst-b")
    rec = PriceRecommendationFactory()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user):
        try:
            barrier.wait()
            services.price_recommendation_approve(recommendation_id=rec.pk, user=user, reason=user.username)
            outcomes.append("applied")
        except services.RecommendationStateError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["applied", "refused"]
    assert PriceHistory.objects.count() == 1
    assert PriceRecommendation.objects.get(pk=rec.pk).status == "applied"
    assert list(PriceChangeAudit.objects.order_by("pk").values_list("action", flat=True)) == ["approved", "applied"]

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from inventory.jobs import _default_as_of
from inventory.models import SalesObservation
from tests.factories import LocationFactory, OrderFactory, ProductFactory


@pytest.mark.django_db
def test_default_as_of_is_the_day_after_the_last_recorded_demand_of_an_archive():
    OrderFactory(purchased_at=datetime(2018, 5, 31, 23, 0, tzinfo=UTC))
    SalesObservation.objects.create(
        product=ProductFactory(), location=LocationFactory(), period_start=date(1992, 1, 2), period_days=7, units=3
    )
    assert _default_as_of() == date(2018, 6, 1)


@pytest.mark.django_db
def test_default_as_of_is_today_without_history_or_with_current_history():
    assert _default_as_of() == timezone.now().date()
    OrderFactory(purchased_at=timezone.now())
    assert _default_as_of() == timezone.now().date()

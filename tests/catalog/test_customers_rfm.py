"""RFM snapshots computed in SQL on crafted customers; segment report helpers."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import CustomerSegment, CustomerSegmentSnapshot
from catalog.services_customers import rfm_recompute, segment_for_scores, segment_movement, segment_summary
from orders.models import Order
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory

AS_OF = date(2018, 6, 30)


def _orders(customer, *, days_ago: list[int], price: str = "10.00", status=Order.Status.DELIVERED):
    for days in days_ago:
        order = OrderFactory(
            customer=customer,
            status=status,
            purchased_at=datetime(2018, 6, 30, 15, 0, tzinfo=UTC) - timedelta(days=days),
        )
        OrderLineFactory(order=order, line_number=1, unit_price=Decimal(price), quantity=1)


@pytest.fixture
def five_customers(db):
    """Distinct recency and frequency, so the quintile of each is its rank."""
    customers = {name: CustomerFactory(external_id=name) for name in ("champ", "promising", "loyal", "at_risk", "lost")}
    _orders(customers["champ"], days_ago=[10, 100, 200, 300, 400])
    _orders(customers["promising"], days_ago=[20])
    _orders(customers["promising"], days_ago=[1], status=Order.Status.CANCELED)  # not counted
    _orders(customers["loyal"], days_ago=[30, 130, 230, 330])
    _orders(customers["at_risk"], days_ago=[40, 140, 240])
    _orders(customers["lost"], days_ago=[50, 150])
    _orders(customers["lost"], days_ago=[-5])  # after the as-of date: not counted
    CustomerFactory(external_id="never-bought")
    return customers


def test_rfm_scores_and_segments_of_crafted_customers(five_customers):
    inserted = rfm_recompute(as_of=AS_OF)

    assert inserted == 5
    rows = {
        s.customer.external_id: (s.recency_days, s.frequency, s.monetary, s.rfm_code, s.segment)
        for s in CustomerSegmentSnapshot.objects.select_related("customer").filter(as_of=AS_OF)
    }
    assert rows == {
        "champ": (10, 5, Decimal("50.00"), "555", CustomerSegment.CHAMPIONS),
        "promising": (20, 1, Decimal("10.00"), "411", CustomerSegment.PROMISING),
        "loyal": (30, 4, Decimal("40.00"), "344", CustomerSegment.LOYAL),
        "at_risk": (40, 3, Decimal("30.00"), "233", CustomerSegment.AT_RISK),
        "lost": (50, 2, Decimal("20.00"), "122", CustomerSegment.LOST),
    }


def test_recompute_same_day_replaces_and_new_day_keeps_history(five_customers):
    rfm_recompute(as_of=AS_OF)
    rfm_recompute(as_of=AS_OF)
    _orders(five_customers["lost"], days_ago=[-20])  # bought again on 2018-07-20
    rfm_recompute(as_of=date(2018, 7, 31))

    assert CustomerSegmentSnapshot.objects.filter(as_of=AS_OF).count() == 5
    assert CustomerSegmentSnapshot.objects.filter(as_of=date(2018, 7, 31)).count() == 5
    movement = segment_movement(date_from=AS_OF, date_to=date(2018, 7, 31))
    moved = movement[movement["from_segment"] == "lost"]
    assert moved[["to_segment", "customers"]].values.tolist() == [["potential_loyalist", 1]]


def test_tied_customers_get_the_same_scores(db):
    twins = [CustomerFactory() for _ in range(3)]
    for customer in twins:
        _orders(customer, days_ago=[7])
    rfm_recompute(as_of=AS_OF)

    codes = set(CustomerSegmentSnapshot.objects.values_list("recency_score", "frequency_score", "monetary_score"))
    assert codes == {(1, 1, 1)}


def test_segment_summary_counts_and_spend(five_customers):
    rfm_recompute(as_of=AS_OF)
    summary = segment_summary(as_of=AS_OF).set_index("segment")

    assert summary.loc["champions", "customers"] == 1
    assert summary.loc["champions", "monetary"] == 50.0
    assert summary["customers"].sum() == 5
    assert summary["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (4, 4, "loyal"),
        (5, 2, "potential_loyalist"),
        (5, 1, "new"),
        (3, 3, "need_attention"),
        (3, 1, "about_to_sleep"),
        (1, 5, "cant_lose"),
        (2, 3, "at_risk"),
        (2, 1, "hibernating"),
        (1, 1, "lost"),
    ],
)
def test_segment_map(r, f, segment):
    assert segment_for_scores(r, f) == segment


def test_sql_segment_map_agrees_with_python_for_every_score_pair(db):
    from django.db import connection

    from catalog.services_customers import SEGMENT_SQL

    pairs = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    values = " UNION ALL ".join(f"SELECT {r} AS r, {f} AS f" for r, f in pairs)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r, f, {SEGMENT_SQL} FROM ({values}) AS scores ORDER BY r, f")
        from_sql = {(r, f): segment for r, f, segment in cursor.fetchall()}

    assert from_sql == {(r, f): str(segment_for_scores(r, f)) for r, f in pairs}


def test_deleting_a_customer_deletes_its_snapshots(db):
    customer = CustomerFactory()
    CustomerSegmentSnapshot.objects.create(
        customer=customer,
        as_of=AS_OF,
        recency_days=1,
        frequency=1,
        monetary=Decimal("1"),
        recency_score=5,
        frequency_score=1,
        monetary_score=1,
        segment="new",
    )
    other = CustomerFactory()

    customer.delete()  # orders would PROTECT; this customer has none

    assert CustomerSegmentSnapshot.objects.count() == 0
    assert type(other).objects.filter(pk=other.pk).exists()

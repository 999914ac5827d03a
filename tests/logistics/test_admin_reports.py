"""Admin pages and HTML reports of logistics; order risk scoring."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import Allocation
from inventory.services import stock_receive
from logistics.models import OrderRisk
from logistics.services import order_risk_clear_and_allocate, order_risk_score
from tests.factories import CustomerFactory, LocationFactory, OrderFactory, OrderLineFactory, ProductFactory

from .factories import CarrierFactory, ShipmentFactory


@pytest.fixture
def staff_client(client, operator_user):
    client.force_login(operator_user)
    return client


@pytest.mark.parametrize(
    "name", ["carrier", "ziparea", "shipment", "trackingevent", "deliveryprediction", "orderrisk", "routeplan"]
)
def test_admin_changelists_open(staff_client, name):
    ShipmentFactory()
    response = staff_client.get(reverse(f"admin:logistics_{name}_changelist"))
    assert response.status_code == 200


def test_likely_late_filter_in_admin(staff_client):
    response = staff_client.get(reverse("admin:logistics_deliveryprediction_changelist"), {"likely_late": "yes"})
    assert response.status_code == 200
    assert "Likely late" in response.content.decode()


def test_carrier_performance_report_and_csv(staff_client):
    fast, slow = CarrierFactory(code="fast"), CarrierFactory(code="slow")
    for carrier, delivered_day, count in ((fast, 9, 3), (slow, 12, 2)):
        for _ in range(count):
            order = OrderFactory(shipping_state="RJ", promised_delivery_date=date(2018, 3, 10))
            ShipmentFactory(
                order=order,
                carrier=carrier,
                status="delivered",
                delivered_at=datetime(2018, 3, delivered_day, 15, tzinfo=UTC),
            )
    page = staff_client.get(reverse("logistics_reports:carrier_performance"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    csv = staff_client.get(reverse("logistics_reports:carrier_performance"), {"format": "csv"}).content.decode()
    assert csv.splitlines() == [
        "carrier,region,month,shipments,on_time,on_time_rate,mean_days_late",
        "fast,RJ,2018-03,3,3,1.0,0.0",
        "slow,RJ,2018-03,2,0,0.0,2.0",
    ]


def test_carrier_performance_report_rejects_bad_dates(staff_client):
    response = staff_client.get(reverse("logistics_reports:carrier_performance"), {"start": "2018-99-01"})
    assert response.status_code == 400
    assert "start: &#x27;2018-99-01&#x27; is not a date" in response.content.decode()


@pytest.mark.django_db
def test_order_risk_flags_unusual_value_state_mismatch_and_burst():
    customer = CustomerFactory(state="SP")
    product = ProductFactory()
    start = datetime(2018, 3, 1, 9, tzinfo=UTC)
    for i in range(4):  # four ordinary orders of 10.00 + 2.00 freight over the past weeks
        order = OrderFactory(customer=customer, purchased_at=start - timedelta(days=7 * (i + 1)), shipping_state="SP")
        OrderLineFactory(order=order, product=product, quantity=1)
    ordinary = OrderFactory(customer=customer, purchased_at=start, shipping_state="SP")
    OrderLineFactory(order=ordinary, product=product, quantity=1)
    unusual = OrderFactory(customer=customer, purchased_at=start + timedelta(hours=1), shipping_state="BA")
    OrderLineFactory(order=unusual, product=product, quantity=1, unit_price=Decimal("300.00"))

    calm = order_risk_score(order=ordinary)
    risky = order_risk_score(order=unusual)

    assert (calm.score, calm.reasons) == (0.0, [])
    assert risky.reasons == [
        "value 302.00 is 25.2x the customer's usual 12.00",
        "delivery state BA differs from the customer's SP",
    ]
    # 1 - (1 - 0.9) x (1 - 0.35)
    assert risky.score == pytest.approx(0.935)
    assert risky.status == OrderRisk.Status.PENDING


@pytest.mark.django_db
def test_clear_and_allocate_reserves_the_reviewed_order():
    location = LocationFactory(code="WH")
    product = ProductFactory()
    stock_receive(product=product, location=location, quantity=1, key="r1")
    order = OrderFactory()
    OrderLineFactory(order=order, product=product)
    risk = OrderRisk.objects.create(order=order, score=0.6)

    allocated, failed = order_risk_clear_and_allocate(risks=OrderRisk.objects.filter(pk=risk.pk))

    assert (allocated, failed) == (1, [])
    risk.refresh_from_db()
    assert risk.status == OrderRisk.Status.CLEARED
    assert Allocation.objects.get().location == location


@pytest.mark.django_db
def test_score_order_risk_command_scores_new_orders_once():
    from django.core.management import call_command

    new = OrderFactory(status="approved")
    OrderLineFactory(order=new)
    OrderFactory(status="delivered")
    call_command("score_order_risk")
    call_command("score_order_risk")
    assert list(OrderRisk.objects.values_list("order_id", flat=True)) == [new.pk]


def test_plan_routes_admin_form_reports_the_reason(staff_client):
    location = LocationFactory(code="HUB", latitude=-23.5, longitude=-46.6)
    url = reverse("admin:logistics_routeplan_plan")
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url, {"location": location.pk, "date": "2018-03-05", "vehicle_capacity": 1000, "vehicles": 1, "seconds": 0.2}
    )
    assert response.status_code == 200
    assert "no open shipments from HUB on 2018-03-05" in response.content.decode()


def test_plan_routes_admin_form_checks_the_shift(staff_client):
    location = LocationFactory(code="HUB2", latitude=-23.5, longitude=-46.6)
    response = staff_client.post(
        reverse("admin:logistics_routeplan_plan"),
        {
            "location": location.pk,
            "date": "2018-03-05",
            "vehicle_capacity": 1000,
            "vehicles": 1,
            "seconds": 0.2,
            "shift_start": "17:00",
            "shift_end": "09:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"shift_end": ["the shift must end after it starts"]}


def test_carrier_performance_takes_the_shipments_own_estimate_first_and_skips_shipments_without_a_promise(db):
    from logistics.selectors import carrier_performance

    carrier = CarrierFactory(code="fast")
    cases = [  # carrier, state, order promise, shipment estimate, delivered (UTC)
        (carrier, "RJ", date(2018, 3, 10), date(2018, 3, 12), datetime(2018, 3, 11, 23, 30, tzinfo=UTC)),  # on time
        (carrier, "RJ", date(2018, 3, 10), None, datetime(2018, 3, 14, 0, 30, tzinfo=UTC)),  # 4 days late
        (None, "", date(2018, 3, 10), None, datetime(2018, 3, 10, 12, tzinfo=UTC)),  # no carrier, no state
        (carrier, "SP", None, None, datetime(2018, 3, 10, 12, tzinfo=UTC)),  # no promise at all: left out
    ]
    for courier, state, promised, estimate, delivered in cases:
        order = OrderFactory(shipping_state=state, promised_delivery_date=promised)
        ShipmentFactory(
            order=order, carrier=courier, status="delivered", estimated_delivery_date=estimate, delivered_at=delivered
        )

    frame = carrier_performance()

    assert frame.to_dict("records") == [
        {
            "carrier": "(none)",
            "region": "(unknown)",
            "month": "2018-03",
            "shipments": 1,
            "on_time": 1,
            "on_time_rate": 1.0,
            "mean_days_late": 0.0,
        },
        {
            "carrier": "fast",
            "region": "RJ",
            "month": "2018-03",
            "shipments": 2,
            "on_time": 1,
            "on_time_rate": 0.5,
            "mean_days_late": 4.0,
        },
    ]
    assert carrier_performance(start=date(2018, 3, 12)).to_dict("records")[0]["shipments"] == 1

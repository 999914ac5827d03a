"""Customer-service agents see only the orders, shipments and customers behind the feedback queue."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access.scoping import CUSTOMER_PATHS, is_customer_scoped, scope_queryset
from feedback.models import QueueItem
from logistics.models import Shipment, TrackingEvent
from orders.models import Order, OrderLine
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, PaymentFactory
from tests.feedback.factories import ReviewFactory
from tests.logistics.factories import ShipmentFactory


def _case(name: str, queue_state: str | None, closed_days_ago: int | None = None):
    customer = CustomerFactory(external_id=f"cust-{name}")
    order = OrderFactory(customer=customer, external_id=f"order-{name}")
    line = OrderLineFactory(order=order)
    PaymentFactory(order=order)
    shipment = ShipmentFactory(order=order)
    event = TrackingEvent.objects.create(shipment=shipment, occurred_at=timezone.now(), status="in transit")
    review = ReviewFactory(order=order, external_id=f"review-{name}")
    if queue_state is not None:
        item = QueueItem.objects.create(review=review, state=queue_state)
        if closed_days_ago is not None:
            when = timezone.now() - timedelta(days=closed_days_ago)
            QueueItem.objects.filter(pk=item.pk).update(resolved_at=when, updated_at=when)
    return {"customer": customer, "order": order, "line": line, "shipment": shipment, "event": event}


@pytest.fixture
def cases(db):
    return {
        "open": _case("open", QueueItem.State.NEW),
        "recently-resolved": _case("recent", QueueItem.State.RESOLVED, closed_days_ago=3),
        "long-resolved": _case("old", QueueItem.State.RESOLVED, closed_days_ago=40),
        "not-in-queue": _case("none", None),
    }


@pytest.fixture
def make_user(django_user_model):
    serial = iter(range(1000))

    def make(*groups, **flags):
        user = django_user_model.objects.create_user(username=f"user-{next(serial)}", **flags)
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return django_user_model.objects.get(pk=user.pk)

    return make


IN_SCOPE = {"open", "recently-resolved"}

API_LISTS = {
    "order-list": ("order", "external_id"),
    "orderline-list": ("line", "id"),
    "shipment-list": ("shipment", "id"),
    "trackingevent-list": ("event", "id"),
    "customer-list": ("customer", "external_id"),
}


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_who_is_scoped(make_user):
    assert is_customer_scoped(make_user("customer-service agent"))
    assert not is_customer_scoped(make_user("customer-service agent", "operator"))
    assert not is_customer_scoped(make_user("operator"))
    assert not is_customer_scoped(make_user(is_superuser=True))
    assert not is_customer_scoped(make_user())


@pytest.mark.django_db
def test_agent_lists_and_details_in_the_api_only_reach_the_queue_customers(cases, make_user):
    client = _api(make_user("customer-service agent"))
    for route, (kind, key) in API_LISTS.items():
        response = client.get(reverse(route), {"limit": 100})
        assert response.status_code == 200, route
        listed = {row[key] for row in response.json()["results"]}
        expected = {getattr(cases[name][kind], key if key != "id" else "pk") for name in IN_SCOPE}
        assert listed == expected, route
        assert response.json()["count"] == len(IN_SCOPE), route
        detail = route.replace("-list", "-detail")
        for name, case in cases.items():
            status = client.get(reverse(detail, args=[case[kind].pk])).status_code
            assert status == (200 if name in IN_SCOPE else 404), (detail, name)
    # filtering or searching for an out-of-scope order finds nothing either
    response = client.get(reverse("order-list"), {"search": "order-none"})
    assert response.json()["count"] == 0
    response = client.get(reverse("shipment-list"), {"order": cases["not-in-queue"]["order"].pk})
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_other_roles_are_not_narrowed(cases, make_user):
    for user in (make_user("operator"), make_user("customer-service agent", "operator")):
        response = _api(user).get(reverse("order-list"), {"limit": 100})
        assert response.json()["count"] == 4


@pytest.mark.django_db
def test_agent_admin_changelists_and_change_pages_are_narrowed(cases, make_user, client):
    agent = make_user("customer-service agent", is_staff=True)
    client.force_login(agent)
    for model, kind in ((Order, "order"), (Shipment, "shipment"), (OrderLine, "line")):
        info = model._meta.app_label, model._meta.model_name
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200
        assert {obj.pk for obj in response.context["cl"].result_list} == {cases[n][kind].pk for n in IN_SCOPE}
        for name, case in cases.items():
            response = client.get(reverse("admin:{}_{}_change".format(*info), args=[case[kind].pk]))
            if name in IN_SCOPE:
                assert response.status_code == 200, (model, name)
            else:  # the admin treats it as a missing object: back to the index with "does not exist"
                assert response.status_code == 302, (model, name)
                assert response["Location"] == reverse("admin:index")
    response = client.get(reverse("admin:catalog_customer_changelist"))
    assert {c.pk for c in response.context["cl"].result_list} == {cases[n]["customer"].pk for n in IN_SCOPE}
    # the order picker of another admin form (autocomplete) is narrowed the same way
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "logistics", "model_name": "shipment", "field_name": "order", "term": "order-"},
    )
    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {str(cases[n]["order"].pk) for n in IN_SCOPE}


@pytest.mark.django_db
def test_every_customer_path_resolves_and_narrows(cases, make_user):
    agent = make_user("customer-service agent")
    from django.apps import apps

    for label in CUSTOMER_PATHS:
        model = apps.get_model(label)
        everything = model.objects.all()
        scoped = scope_queryset(everything, agent).count()  # the path resolves (the query runs)
        if everything.exists():
            assert 0 < scoped < everything.count(), label
        else:
            assert scoped == 0, label

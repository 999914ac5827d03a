"""50 concurrent orders for the last unit of a product on PostgreSQL: exactly one gets it."""

import threading

import pytest
from django.db import close_old_connections, connection

from inventory.allocation import AllocationError, order_allocate
from inventory.models import Allocation, StockLevel
from inventory.services import stock_receive
from tests.factories import LocationFactory, OrderFactory, OrderLineFactory, ProductFactory

WORKERS = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_orders_for_three_units_in_two_locations():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks do nothing on SQLite")
    product = ProductFactory()
    near, far = LocationFactory(code="NEAR"), LocationFactory(code="FAR")
    stock_receive(product=product, location=near, quantity=1, key="rcv-near")
    stock_receive(product=product, location=far, quantity=2, key="rcv-far")
    # Two locations hold 3 units; 50 orders of one unit each race for them; then 47 must fail.
    orders = [OrderFactory() for _ in range(WORKERS)]
    for order in orders:
        OrderLineFactory(order=order, product=product, quantity=1)
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(order):
        close_old_connections()
        try:
            barrier.wait()
            order_allocate(order=order)
            result = "ok"
        except AllocationError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=work, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("ok") == 3
    assert outcomes.count("refused") == WORKERS - 3
    levels = {lv.location.code: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.select_related("location")}
    assert levels == {"NEAR": (1, 1), "FAR": (2, 2)}
    assert Allocation.objects.filter(status="reserved").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_orders_for_one_last_unit():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks do nothing on SQLite")
    product = ProductFactory()
    location = LocationFactory(code="ONLY")
    stock_receive(product=product, location=location, quantity=1, key="rcv-only")
    orders = [OrderFactory() for _ in range(WORKERS)]
    for order in orders:
        OrderLineFactory(order=order, product=product, quantity=1)
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(order):
        close_old_connections()
        try:
            barrier.wait()
            order_allocate(order=order)
            result = "ok"
        except AllocationError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=work, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("ok") == 1
    assert outcomes.count("refused") == WORKERS - 1
    level = StockLevel.objects.get(product=product, location=location)
    assert (level.on_hand, level.reserved) == (1, 1)
    assert Allocation.objects.count() == 1

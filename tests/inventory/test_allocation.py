"""Allocation of orders to locations: nearest with stock, all-or-nothing, idempotent, release on cancel."""

from datetime import UTC, datetime

import pytest

from inventory.allocation import AllocationError, order_allocate, order_allocation_release, order_cancel
from inventory.models import Allocation, StockLevel, StockMovement
from inventory.services import stock_receive
from orders.models import Order
from tests.factories import CustomerFactory, LocationFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.logistics.factories import ZipAreaFactory


@pytest.fixture
def world(db):
    """Customer in Rio; warehouses in Rio (near), São Paulo (middle) and Salvador (far)."""
    ZipAreaFactory(prefix="20000", latitude=-22.90, longitude=-43.17, state="RJ")
    locations = {
        "rio": LocationFactory(code="RIO", latitude=-22.95, longitude=-43.20),
        "sp": LocationFactory(code="SP", latitude=-23.55, longitude=-46.63),
        "ssa": LocationFactory(code="SSA", latitude=-12.97, longitude=-38.50),
    }
    customer = CustomerFactory(zip_prefix="20000", state="RJ")
    return locations, customer


def _receive(product, location, quantity):
    stock_receive(product=product, location=location, quantity=quantity, key=f"rcv:{product.pk}:{location.pk}")


def _level(product, location):
    return StockLevel.objects.get(product=product, location=location)


def test_allocation_picks_the_nearest_location_with_stock(world):
    locations, customer = world
    product = ProductFactory()
    _receive(product, locations["sp"], 5)
    _receive(product, locations["ssa"], 5)
    order = OrderFactory(customer=customer, shipping_zip_prefix="20000")
    line = OrderLineFactory(order=order, product=product, quantity=2)

    result = order_allocate(order=order)

    assert result.created is True
    assert [(a.order_line_id, a.location.code, a.quantity) for a in result.allocations] == [(line.pk, "SP", 2)]
    assert (_level(product, locations["sp"]).reserved, _level(product, locations["ssa"]).reserved) == (2, 0)


def test_allocation_skips_a_nearer_location_without_enough_stock_and_is_idempotent(world):
    locations, customer = world
    product = ProductFactory()
    _receive(product, locations["rio"], 1)
    _receive(product, locations["ssa"], 3)
    order = OrderFactory(customer=customer, shipping_zip_prefix="20000")
    OrderLineFactory(order=order, product=product, quantity=3)

    first = order_allocate(order=order)
    again = order_allocate(order=order)

    assert [a.location.code for a in first.allocations] == ["SSA"]
    assert again.created is False
    assert [a.pk for a in again.allocations] == [a.pk for a in first.allocations]
    assert _level(product, locations["ssa"]).reserved == 3
    assert StockMovement.objects.filter(reason="reservation").count() == 1


def test_allocation_splits_lines_when_no_location_has_everything(world):
    locations, customer = world
    shoes, hats = ProductFactory(), ProductFactory()
    _receive(shoes, locations["rio"], 1)
    _receive(hats, locations["sp"], 1)
    order = OrderFactory(customer=customer, shipping_zip_prefix="20000")
    OrderLineFactory(order=order, product=shoes, line_number=1)
    OrderLineFactory(order=order, product=hats, line_number=2)

    result = order_allocate(order=order)

    assert sorted((a.order_line.line_number, a.location.code) for a in result.allocations) == [(1, "RIO"), (2, "SP")]


def test_allocation_without_stock_fails_and_changes_nothing(world):
    locations, customer = world
    shoes, hats = ProductFactory(sku="SHOES"), ProductFactory(sku="HATS")
    _receive(shoes, locations["rio"], 1)
    order = OrderFactory(customer=customer, shipping_zip_prefix="20000", external_id="ord-1")
    OrderLineFactory(order=order, product=shoes, line_number=1)
    OrderLineFactory(order=order, product=hats, line_number=2, quantity=2)

    with pytest.raises(AllocationError, match=r"order ord-1 line 2 \(HATS\): needs 2, no single location has it"):
        order_allocate(order=order)

    assert Allocation.objects.count() == 0
    assert _level(shoes, locations["rio"]).reserved == 0
    assert StockMovement.objects.filter(reason="reservation").count() == 0


def test_only_approved_orders_are_allocated(world):
    locations, customer = world
    order = OrderFactory(customer=customer, status=Order.Status.CREATED, external_id="ord-new")
    OrderLineFactory(order=order)
    with pytest.raises(AllocationError, match="order ord-new is created; only approved orders are allocated"):
        order_allocate(order=order)


def test_cancel_releases_the_reservation_once(world):
    locations, customer = world
    product = ProductFactory()
    _receive(product, locations["rio"], 4)
    order = OrderFactory(customer=customer, shipping_zip_prefix="20000")
    OrderLineFactory(order=order, product=product, quantity=3)
    order_allocate(order=order)
    assert _level(product, locations["rio"]).reserved == 3

    assert order_cancel(order=order) == 1
    assert order_allocation_release(order=order) == 0

    level = _level(product, locations["rio"])
    assert (level.on_hand, level.reserved) == (4, 0)
    assert list(Allocation.objects.values_list("status", flat=True)) == ["released"]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED


def test_allocate_orders_command_allocates_what_it_can(world):
    from django.core.management import call_command

    locations, customer = world
    product = ProductFactory()
    _receive(product, locations["sp"], 1)
    first = OrderFactory(customer=customer, external_id="first", purchased_at=datetime(2018, 3, 1, tzinfo=UTC))
    second = OrderFactory(customer=customer, external_id="second", purchased_at=datetime(2018, 3, 2, tzinfo=UTC))
    for order in (first, second):
        OrderLineFactory(order=order, product=product)

    call_command("allocate_orders")

    assert list(Allocation.objects.values_list("order_line__order__external_id", flat=True)) == ["first"]

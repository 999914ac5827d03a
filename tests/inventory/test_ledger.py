"""The stock ledger: exact levels after each operation, idempotency, refusals that change nothing, locking."""

import threading

import pytest
from django.db import connection

from inventory.models import StockLevel, StockMovement
from inventory.selectors import stock_level_from_ledger
from inventory.services import (
    IdempotencyConflict,
    InsufficientStock,
    StockLine,
    stock_adjust,
    stock_count,
    stock_movement_record,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
    stock_ship,
)
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return ProductFactory(), LocationFactory()


def level_of(product, location):
    level = StockLevel.objects.get(product=product, location=location)
    return level.on_hand, level.reserved


def test_each_operation_leaves_the_exact_level(pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=10, key="r1")
    assert level_of(product, location) == (10, 0)
    stock_reserve(product=product, location=location, quantity=4, key="s1")
    assert level_of(product, location) == (10, 4)
    stock_release(product=product, location=location, quantity=1, key="l1")
    assert level_of(product, location) == (10, 3)
    stock_ship(product=product, location=location, quantity=2, key="p1")
    assert level_of(product, location) == (8, 1)
    stock_adjust(product=product, location=location, delta=-3, key="a1")
    assert level_of(product, location) == (5, 1)
    movement = stock_count(product=product, location=location, counted=9, key="c1")
    assert movement.on_hand_delta == 4
    assert movement.reason == StockMovement.Reason.COUNT
    assert level_of(product, location) == (9, 1)
    totals = stock_level_from_ledger(product, location)
    assert (totals.on_hand, totals.reserved, totals.available) == (9, 1, 8)
    assert StockMovement.objects.count() == 6


def test_repeated_key_returns_the_first_movement_and_moves_nothing(pair):
    product, location = pair
    first = stock_receive(product=product, location=location, quantity=5, key="k")
    again = stock_receive(product=product, location=location, quantity=5, key="k")
    assert again.pk == first.pk
    assert level_of(product, location) == (5, 0)
    assert StockMovement.objects.count() == 1


def test_same_key_with_different_values_is_refused(pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=5, key="k")
    with pytest.raises(IdempotencyConflict, match="'k' was already used"):
        stock_receive(product=product, location=location, quantity=6, key="k")
    assert level_of(product, location) == (5, 0)
    assert StockMovement.objects.count() == 1


def test_replayed_count_does_not_move_stock_again(pair):
    product, location = pair
    stock_receive(product=product, location=location, quantity=5, key="r")
    stock_count(product=product, location=location, counted=3, key="count-1")
    stock_receive(product=product, location=location, quantity=2, key="r2")
    stock_count(product=product, location=location, counted=3, key="count-1")
    assert level_of(product, location) == (5, 0)


@pytest.mark.parametrize(
    "operation, message",
    [
        (lambda p, loc: stock_reserve(product=p, location=loc, quantity=4, key="x"), "requested 4, available 3"),
        (
            lambda p, loc: stock_ship(product=p, location=loc, quantity=3, key="x"),
            "reserved .* requested 3, available 2",
        ),
        (
            lambda p, loc: stock_release(product=p, location=loc, quantity=3, key="x"),
            "reserved .* requested 3, available 2",
        ),
        (lambda p, loc: stock_adjust(product=p, location=loc, delta=-6, key="x"), "requested 6, available 5"),
        (lambda p, loc: stock_adjust(product=p, location=loc, delta=-4, key="x"), "requested 4, available 3"),
        (lambda p, loc: stock_count(product=p, location=loc, counted=1, key="x"), "requested 4, available 3"),
    ],
)
def test_insufficient_stock_raises_and_changes_nothing(pair, operation, message):
    product, location = pair
    stock_receive(product=product, location=location, quantity=5, key="r")
    stock_reserve(product=product, location=location, quantity=2, key="s")
    with pytest.raises(InsufficientStock, match=message) as error:
        operation(product, location)
    assert error.value.product == product
    assert error.value.location == location
    assert level_of(product, location) == (5, 2)
    assert StockMovement.objects.count() == 2
    assert not StockMovement.objects.filter(idempotency_key="x").exists()


def test_invalid_arguments_are_refused(pair):
    product, location = pair
    with pytest.raises(ValueError, match="positive"):
        stock_receive(product=product, location=location, quantity=0, key="z")
    with pytest.raises(ValueError, match="unknown stock movement reason 'gift'"):
        stock_movement_record(product=product, location=location, on_hand_delta=1, reason="gift", key="z")
    with pytest.raises(ValueError, match="idempotency key"):
        stock_movement_record(product=product, location=location, on_hand_delta=1, reason="receipt", key="")
    assert StockMovement.objects.count() == 0


def test_reserve_many_is_all_or_nothing():
    location = LocationFactory()
    a, b = ProductFactory(), ProductFactory()
    stock_receive(product=a, location=location, quantity=3, key="ra")
    stock_receive(product=b, location=location, quantity=1, key="rb")
    with pytest.raises(InsufficientStock, match=f"{b.sku}.*requested 2, available 1"):
        stock_reserve_many(
            lines=[StockLine(product=a, location=location, quantity=2), StockLine(b, location, 2)], key_prefix="o1"
        )
    assert level_of(a, location) == (3, 0)
    assert level_of(b, location) == (1, 0)
    movements = stock_reserve_many(
        lines=[StockLine(a, location, 1), StockLine(b, location, 1), StockLine(a, location, 1)], key_prefix="o2"
    )
    assert sorted((m.product_id, m.reserved_delta) for m in movements) == sorted([(a.pk, 2), (b.pk, 1)])
    assert level_of(a, location) == (3, 2)
    assert level_of(b, location) == (1, 1)


def test_reserve_many_without_a_level_fails_with_zero_available():
    location, product = LocationFactory(), ProductFactory()
    with pytest.raises(InsufficientStock, match="requested 1, available 0"):
        stock_reserve_many(lines=[StockLine(product, location, 1)], key_prefix="o")
    assert StockMovement.objects.count() == 0


def _run_threads(count, target):
    barrier = threading.Barrier(count)
    outcomes = []

    def worker(index):
        try:
            barrier.wait()
            outcomes.append(target(index))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_thirty_threads_reserving_the_last_unit_exactly_one_wins(postgres_only):
    product, location = ProductFactory(), LocationFactory()
    stock_receive(product=product, location=location, quantity=1, key="last-unit")

    outcomes = _run_threads(
        30, lambda i: stock_reserve(product=product, location=location, quantity=1, key=f"buyer-{i}")
    )

    winners = [o for o in outcomes if isinstance(o, StockMovement)]
    losers = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert (len(winners), len(losers), len(outcomes)) == (1, 29, 30)
    assert level_of(product, location) == (1, 1)
    totals = stock_level_from_ledger(product, location)
    assert (totals.on_hand, totals.reserved) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_crossed_baskets_never_deadlock_and_level_equals_ledger(postgres_only):
    location = LocationFactory()
    products = [ProductFactory() for _ in range(4)]
    for product in products:
        stock_receive(product=product, location=location, quantity=10, key=f"r-{product.pk}")

    def basket(i):
        chosen = products if i % 2 else list(reversed(products))
        return stock_reserve_many(lines=[StockLine(p, location, 1) for p in chosen], key_prefix=f"basket-{i}")

    outcomes = _run_threads(12, basket)

    assert [type(o).__name__ for o in outcomes if not isinstance(o, list | InsufficientStock)] == []
    succeeded = sum(isinstance(o, list) for o in outcomes)
    assert succeeded == 10
    for product in products:
        totals = stock_level_from_ledger(product, location)
        assert level_of(product, location) == (totals.on_hand, totals.reserved) == (10, 10)


@pytest.mark.django_db(transaction=True)
def test_same_key_from_many_threads_moves_stock_once(postgres_only):
    product, location = ProductFactory(), LocationFactory()
    outcomes = _run_threads(20, lambda i: stock_receive(product=product, location=location, quantity=3, key="dup"))
    assert {o.pk for o in outcomes if isinstance(o, StockMovement)} == {StockMovement.objects.get().pk}
    assert len(outcomes) == 20
    assert level_of(product, location) == (3, 0)

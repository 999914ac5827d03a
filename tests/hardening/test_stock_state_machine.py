"""A Hypothesis state machine over the stock ledger: whatever the sequence of operations, on hand equals
the sum of movements and 0 <= reserved <= on hand; refused operations change nothing."""

import itertools

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from inventory.models import StockLevel, StockMovement
from inventory.services import (
    InsufficientStock,
    stock_adjust,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_ship,
)
from tests.factories import LocationFactory, ProductFactory

quantities = st.integers(min_value=1, max_value=12)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.product = ProductFactory()
        self.location = LocationFactory()
        self.keys = itertools.count()
        self.on_hand = 0
        self.reserved = 0
        self.open_orders: list[int] = []  # reserved quantity per open order
        self.used_keys: list[tuple] = []

    def _key(self) -> str:
        return f"sm-{self.product.pk}-{next(self.keys)}"

    def _call(self, func, **kwargs) -> bool:
        key = self._key()
        try:
            func(product=self.product, location=self.location, key=key, **kwargs)
        except InsufficientStock:
            return False
        self.used_keys.append((func, key, kwargs))
        return True

    @rule(quantity=quantities)
    def restock(self, quantity):
        assert self._call(stock_receive, quantity=quantity)
        self.on_hand += quantity

    @rule(quantity=quantities)
    def reserve(self, quantity):
        ok = self._call(stock_reserve, quantity=quantity)
        assert ok == (quantity <= self.on_hand - self.reserved)
        if ok:
            self.reserved += quantity
            self.open_orders.append(quantity)

    @rule(data=st.data())
    def ship(self, data):
        if not self.open_orders:
            return
        index = data.draw(st.integers(0, len(self.open_orders) - 1))
        quantity = self.open_orders.pop(index)
        assert self._call(stock_ship, quantity=quantity)
        self.on_hand -= quantity
        self.reserved -= quantity

    @rule(data=st.data())
    def cancel(self, data):
        if not self.open_orders:
            return
        index = data.draw(st.integers(0, len(self.open_orders) - 1))
        quantity = self.open_orders.pop(index)
        assert self._call(stock_release, quantity=quantity)
        self.reserved -= quantity

    @rule(quantity=quantities)
    def release_more_than_reserved(self, quantity):
        ok = self._call(stock_release, quantity=self.reserved + quantity)
        assert not ok

    @rule(delta=st.integers(min_value=-15, max_value=15).filter(bool))
    def adjust(self, delta):
        ok = self._call(stock_adjust, delta=delta)
        assert ok == (self.on_hand + delta >= self.reserved)
        if ok:
            self.on_hand += delta

    @rule(data=st.data())
    def replay(self, data):
        """A retried request with a key already used changes nothing."""
        if not self.used_keys:
            return
        func, key, kwargs = data.draw(st.sampled_from(self.used_keys))
        func(product=self.product, location=self.location, key=key, **kwargs)

    @invariant()
    def level_matches_model_and_ledger(self):
        level = StockLevel.objects.filter(product=self.product, location=self.location).first()
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        sums = StockMovement.objects.filter(product=self.product, location=self.location).aggregate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
        assert (on_hand, reserved) == (self.on_hand, self.reserved)
        assert (sums["on_hand"] or 0, sums["reserved"] or 0) == (on_hand, reserved)
        assert 0 <= reserved <= on_hand


@pytest.mark.django_db
def test_ledger_state_machine():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )

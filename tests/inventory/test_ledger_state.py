"""A Hypothesis state machine over the ledger: whatever the sequence of operations, the invariants hold.

Reserve, release, ship, receive, adjust and count, with random quantities (often more than is there) and
replayed keys: on hand equals the sum of the movements, 0 <= reserved <= on hand, and a refused operation
changes nothing.
"""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from inventory.models import StockLevel, StockMovement
from inventory.selectors import stock_level_from_ledger
from inventory.services import (
    InsufficientStock,
    stock_adjust,
    stock_count,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_ship,
)
from tests.factories import LocationFactory, ProductFactory

QUANTITY = st.integers(min_value=1, max_value=12)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.product, self.location = ProductFactory(), LocationFactory()
        self.on_hand, self.reserved, self.keys = 0, 0, 0
        self.used_keys: list[tuple[str, object]] = []

    def _key(self) -> str:
        self.keys += 1
        return f"sm-{self.product.pk}-{self.keys}"

    def _apply(self, operation, on_hand_delta, reserved_delta, **kwargs):
        new_on_hand, new_reserved = self.on_hand + on_hand_delta, self.reserved + reserved_delta
        allowed = 0 <= new_reserved <= new_on_hand
        key = self._key()
        try:
            operation(product=self.product, location=self.location, key=key, **kwargs)
        except InsufficientStock:
            assert not allowed, f"{operation.__name__}{kwargs} refused though it fits"
            return
        assert allowed, f"{operation.__name__}{kwargs} accepted though it breaks the invariants"
        self.on_hand, self.reserved = new_on_hand, new_reserved
        self.used_keys.append((key, operation, kwargs))

    @rule(quantity=QUANTITY)
    def receive(self, quantity):
        self._apply(stock_receive, quantity, 0, quantity=quantity)

    @rule(quantity=QUANTITY)
    def reserve(self, quantity):
        self._apply(stock_reserve, 0, quantity, quantity=quantity)

    @rule(quantity=QUANTITY)
    def release(self, quantity):
        self._apply(stock_release, 0, -quantity, quantity=quantity)

    @rule(quantity=QUANTITY)
    def ship(self, quantity):
        self._apply(stock_ship, -quantity, -quantity, quantity=quantity)

    @rule(delta=st.integers(min_value=-12, max_value=12).filter(bool))
    def adjust(self, delta):
        self._apply(stock_adjust, delta, 0, delta=delta)

    @rule(counted=st.integers(min_value=0, max_value=30))
    def count(self, counted):
        self._apply(stock_count, counted - self.on_hand, 0, counted=counted)

    @rule(data=st.data())
    def replay(self, data):
        if not self.used_keys:
            return
        key, operation, kwargs = data.draw(st.sampled_from(self.used_keys))
        before = StockMovement.objects.count()
        operation(product=self.product, location=self.location, key=key, **kwargs)
        assert StockMovement.objects.count() == before

    @invariant()
    def level_matches_model_and_ledger(self):
        level = StockLevel.objects.filter(product=self.product, location=self.location).first()
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        totals = stock_level_from_ledger(self.product, self.location)
        assert (on_hand, reserved) == (self.on_hand, self.reserved) == (totals.on_hand, totals.reserved)
        assert 0 <= reserved <= on_hand


@pytest.mark.django_db
def test_ledger_state_machine():
    LedgerMachine.TestCase.settings = settings(
        max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
    )
    LedgerMachine.TestCase().runTest()

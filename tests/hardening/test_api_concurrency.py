"""Concurrency through the API and the ledger on PostgreSQL (row locks do nothing on SQLite).

* 50 threads reserve the last unit through ``POST /api/v1/stock-movements/``: exactly one 201, every other
  answer a 409 naming the shortage, no 5xx, no deadlock, and the level shows one reserved unit.
* Threads reserve mixed baskets in random order with ``stock_reserve_many``: no deadlock, every basket
  either reserved whole or refused whole, and every stock level equals the sum of its ledger movements.
* The same ``Idempotency-Key`` sent twice at once to ``POST /api/v1/orders/`` creates one order; a later
  replay returns the first response unchanged.
"""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from ecomops.models import IdempotencyRecord
from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock, StockLine, stock_receive, stock_reserve_many
from orders.models import Order
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db(transaction=True)
JOIN_TIMEOUT = 60


def _run_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def _ledger_matches_levels():
    sums = {
        (row["product_id"], row["location_id"]): (row["on_hand"], row["reserved"])
        for row in StockMovement.objects.values("product_id", "location_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
    }
    levels = {(lv.product_id, lv.location_id): (lv.on_hand, lv.reserved) for lv in StockLevel.objects.all()}
    return sums, levels


def test_fifty_threads_buying_the_last_unit_get_one_201(postgres_only, operator_user):
    product, location = ProductFactory(), LocationFactory()
    stock_receive(product=product, location=location, quantity=1, key="receive-last")

    def reserve(index):
        client = APIClient()
        client.force_authenticate(operator_user)
        return client.post(
            reverse("stockmovement-list"),
            {
                "product": product.pk,
                "location": location.pk,
                "reserved_delta": 1,
                "reason": "reservation",
                "idempotency_key": f"last-unit-{index}",
            },
            format="json",
        )

    responses = _run_threads(50, reserve)
    assert [r for r in responses if isinstance(r, Exception)] == []
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 49
    refused = [r for r in responses if r.status_code == 409]
    assert all("available" in str(r.json()).lower() for r in refused), refused[0].json()
    level = StockLevel.objects.get(product=product, location=location)
    assert (level.on_hand, level.reserved) == (1, 1)
    assert StockMovement.objects.filter(reason="reservation").count() == 1


def test_mixed_baskets_in_random_order_never_deadlock_and_match_the_ledger(postgres_only):
    location = LocationFactory()
    products = [ProductFactory() for _ in range(6)]
    for product in products:
        stock_receive(product=product, location=location, quantity=10, key=f"receive-{product.pk}")
    rng = random.Random(9)
    baskets = []
    for _ in range(24):
        chosen = rng.sample(products, k=rng.randint(2, 5))
        baskets.append([StockLine(product=p, location=location, quantity=rng.randint(1, 3)) for p in chosen])

    def reserve(index):
        try:
            stock_reserve_many(lines=baskets[index], key_prefix=f"basket-{index}")
        except InsufficientStock:
            return "refused"
        return "reserved"

    results = _run_threads(len(baskets), reserve)
    assert [r for r in results if r not in ("reserved", "refused")] == []
    assert "reserved" in results
    sums, levels = _ledger_matches_levels()
    assert sums == levels
    for product in products:
        level = levels[(product.pk, location.pk)]
        assert 0 <= level[1] <= level[0] == 10
    # every basket is all or nothing: a reserved basket has one movement per product, a refused one none
    for index, result in enumerate(results):
        count = StockMovement.objects.filter(idempotency_key__startswith=f"basket-{index}:").count()
        assert count == (len(baskets[index]) if result == "reserved" else 0)


def test_same_idempotency_key_twice_at_once_creates_one_order(postgres_only, operator_user):
    seller = SellerFactory(external_id="S-HARD")
    customer = CustomerFactory(external_id="C-HARD")
    ProductFactory(sku="HARD-A", seller=seller)
    body = {
        "external_id": "O-HARD-1",
        "customer": customer.pk,
        "status": "approved",
        "purchased_at": "2018-03-01T12:00:00Z",
    }

    def create(index):
        client = APIClient()
        client.force_authenticate(operator_user)
        return client.post(reverse("order-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="hard-key-1")

    responses = _run_threads(2, create)
    assert [r for r in responses if isinstance(r, Exception)] == []
    assert {r.status_code for r in responses} <= {201, 409}, [r.content for r in responses]
    assert Order.objects.filter(external_id="O-HARD-1").count() == 1
    assert IdempotencyRecord.objects.count() == 1
    first = next(r for r in responses if r.status_code == 201 and r.get("Idempotent-Replayed") != "true")

    client = APIClient()
    client.force_authenticate(operator_user)
    replay = client.post(reverse("order-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="hard-key-1")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == first.json()
    assert Order.objects.count() == 1

"""Oversell race: N concurrent orders for the last unit(s) of a product, on the configured database.

    DATABASE_URL=postgres://... python benchmarks/allocation_race.py [--orders 50] [--units 1]

Creates its own product, location and orders (tagged with a random run id), lets N threads allocate at
once, prints how many got stock and the final level, then deletes what it created. Expect exactly
``--units`` successes on PostgreSQL. (On SQLite writers are serialised by the database lock instead.)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")

import django  # noqa: E402

django.setup()

from django.db import close_old_connections, connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from catalog.models import Customer, Product  # noqa: E402
from inventory.allocation import AllocationError, order_allocate  # noqa: E402
from inventory.models import Allocation, Location, StockLevel, StockMovement  # noqa: E402
from inventory.services import stock_receive  # noqa: E402
from orders.models import Order, OrderLine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--units", type=int, default=1)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    product = Product.objects.create(sku=f"race-{run}", name="race test")
    location = Location.objects.create(code=f"race-{run}")
    customer = Customer.objects.create(external_id=f"race-{run}")
    stock_receive(product=product, location=location, quantity=args.units, key=f"race-{run}-receive")
    orders = []
    for i in range(args.orders):
        order = Order.objects.create(
            external_id=f"race-{run}-{i}", customer=customer, status=Order.Status.APPROVED, purchased_at=timezone.now()
        )
        OrderLine.objects.create(order=order, line_number=1, product=product, quantity=1, unit_price=Decimal("1"))
        orders.append(order)
    barrier = threading.Barrier(args.orders)
    outcomes: list[str] = []
    guard = threading.Lock()

    def work(order):
        close_old_connections()
        try:
            barrier.wait()
            order_allocate(order=order)
            result = "allocated"
        except AllocationError:
            result = "refused"
        except Exception as exc:  # noqa: BLE001 - a crash is a result worth printing
            result = f"error {type(exc).__name__}"
        finally:
            connection.close()
        with guard:
            outcomes.append(result)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    level = StockLevel.objects.get(product=product, location=location)
    allocated = outcomes.count("allocated")
    print(f"database        {connection.vendor}")
    print(f"orders          {args.orders}")
    print(f"units in stock  {args.units}")
    print(f"allocated       {allocated}")
    print(f"refused         {outcomes.count('refused')}")
    print(f"errors          {sum(o.startswith('error') for o in outcomes)}")
    print(f"final level     on hand {level.on_hand}, reserved {level.reserved}")
    print(f"elapsed         {elapsed:.2f} s")
    verdict = allocated == args.units and level.reserved == args.units
    print(f"exactly {args.units} succeeded, no oversell: {'PASS' if verdict else 'FAIL'}")

    Allocation.objects.filter(order_line__order__in=orders).delete()
    Order.objects.filter(pk__in=[o.pk for o in orders]).delete()
    StockMovement.objects.filter(product=product).delete()
    StockLevel.objects.filter(product=product).delete()
    product.delete()
    location.delete()
    customer.delete()
    return 0 if verdict else 1


if __name__ == "__main__":
    raise SystemExit(main())

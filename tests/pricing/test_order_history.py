"""Stores without point-of-sale totals: the price-response model learns from the store's own order lines."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pricing.models import Promotion
from pricing.selectors import order_sales_weekly, sales_history
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory


@pytest.mark.django_db
def test_weekly_units_average_price_and_promotion_flags_from_order_lines():
    product = ProductFactory(sku="WEB-1")
    # Monday 2018-03-05 week: 2 units at 10 + 1 unit at 7 -> 3 units, average price 9.
    for day, quantity, price in [(5, 2, "10.00"), (7, 1, "7.00"), (14, 4, "8.00")]:
        order = OrderFactory(purchased_at=datetime(2018, 3, day, 12, tzinfo=UTC))
        OrderLineFactory(order=order, product=product, quantity=quantity, unit_price=Decimal(price))
    Promotion.objects.create(product=product, kind="feature", starts_on=date(2018, 3, 13), ends_on=date(2018, 3, 14))
    frame = order_sales_weekly(until=date(2018, 3, 19))
    assert frame[["product", "period_start", "units", "price", "feature", "display"]].values.tolist() == [
        ["WEB-1", date(2018, 3, 5), 3.0, 9.0, False, False],
        ["WEB-1", date(2018, 3, 12), 4.0, 8.0, True, False],
    ]


@pytest.mark.django_db
def test_orders_on_or_after_until_are_not_read():
    product = ProductFactory(sku="WEB-2")
    order = OrderFactory(purchased_at=datetime(2018, 3, 19, 0, 0, tzinfo=UTC))
    OrderLineFactory(order=order, product=product, quantity=5)
    assert sales_history(until=date(2018, 3, 19)).empty


def test_products_with_very_few_weeks_get_finite_elasticities():
    import numpy as np
    import pandas as pd

    from pricing.ml.response import PriceResponseModel

    rng = np.random.default_rng(3)
    rows = []
    # "D" sold in only three weeks: its location-level fit is exact (no residual variance).
    for product, weeks in (("A", 60), ("B", 60), ("C", 60), ("D", 3)):
        for week in range(weeks):
            price = 10 * rng.uniform(0.8, 1.2)
            rows.append(
                {
                    "product": product,
                    "location": "WEB",
                    "category": "c",
                    "period_start": date(2017, 1, 2) + pd.Timedelta(weeks=week),
                    "units": float(np.exp(5 - 2.0 * np.log(price) + rng.normal(0, 0.05))),
                    "price": price,
                    "display": 0.0,
                    "feature": 0.0,
                    "discount": 0.0,
                }
            )
    model = PriceResponseModel().fit(pd.DataFrame(rows))
    elasticities = [fit.own for fit in model.series_.values()]
    assert len(elasticities) == 4
    assert all(np.isfinite(e) for e in elasticities)
    assert all(-2.5 < fit.own < -1.5 for key, fit in model.series_.items() if key[0] != "D")

"""delivery_order_frame: the delivery model's order frame read from the database."""

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from logistics.selectors import delivery_order_frame
from orders.models import Order
from tests.factories import CategoryFactory, OrderFactory, OrderLineFactory, ProductFactory, SellerFactory

from .factories import ShipmentFactory, ZipAreaFactory


@pytest.mark.django_db
def test_order_frame_breaks_ties_by_the_smallest_id_and_leaves_orders_without_lines_unknown():
    ZipAreaFactory(prefix="01001", latitude=-23.5, longitude=-46.6, state="SP")
    ZipAreaFactory(prefix="80000", latitude=-25.4, longitude=-49.3, state="PR")
    seller_b = SellerFactory(external_id="seller-b", zip_prefix="01001", state="SP")
    seller_a = SellerFactory(external_id="seller-a", zip_prefix="80000", state="PR")
    toys, books = CategoryFactory(name="toys"), CategoryFactory(name="books")
    purchased = datetime(2018, 3, 1, 12, tzinfo=UTC)
    tied = OrderFactory(external_id="tied", purchased_at=purchased, shipping_zip_prefix="01001", shipping_state="SP")
    # One item each: the first line's seller and category must not win the tie (the Olist files' mode does not).
    OrderLineFactory(
        order=tied,
        line_number=1,
        seller=seller_b,
        product=ProductFactory(seller=seller_b, category=toys, weight_g=300, length_cm=10, height_cm=10, width_cm=10),
        unit_price=Decimal("20.00"),
        freight=Decimal("5.50"),
    )
    OrderLineFactory(
        order=tied,
        line_number=2,
        seller=seller_a,
        product=ProductFactory(seller=seller_a, category=books, weight_g=200, length_cm=None),
        unit_price=Decimal("7.25"),
        freight=Decimal("3.00"),
    )
    ShipmentFactory(order=tied, carrier__code="POST")
    OrderFactory(external_id="no-lines", purchased_at=purchased, shipping_zip_prefix="99999", shipping_state="RS")

    frame = delivery_order_frame(orders=Order.objects.order_by("external_id")).set_index("order_id")

    assert list(frame.index) == ["no-lines", "tied"]
    row = frame.loc["tied"]
    assert (row["seller_id"], row["seller_state"], row["seller_lat"], row["seller_lng"]) == (
        "seller-a",
        "PR",
        -25.4,
        -49.3,
    )
    assert (row["category"], row["carrier"], row["customer_state"]) == ("books", "POST", "SP")
    assert (row["customer_lat"], row["customer_lng"]) == (-23.5, -46.6)
    assert (row["weight_g"], row["volume_cm3"], row["freight_value"], row["price"], row["items"]) == (
        500,
        1000,
        8.5,
        27.25,
        2,
    )
    empty = frame.loc["no-lines"]
    assert (empty["seller_id"], empty["seller_state"], empty["category"], empty["carrier"]) == (None, None, None, None)
    assert empty["customer_state"] == "RS"
    for column in ("weight_g", "volume_cm3", "freight_value", "price", "items", "customer_lat", "seller_lat"):
        assert math.isnan(empty[column]), column

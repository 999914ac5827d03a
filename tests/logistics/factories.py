"""factory_boy factories of logistics, and a small delivered-order history for the delivery model."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from logistics.models import Carrier, Shipment, ZipArea
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory, SellerFactory


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"carrier-{n}")
    name = factory.Sequence(lambda n: f"Carrier {n}")


class ZipAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZipArea
        django_get_or_create = ("prefix",)

    prefix = factory.Sequence(lambda n: f"{n:05d}")
    latitude = -23.5
    longitude = -46.6
    city = "sao paulo"
    state = "SP"


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = factory.SubFactory(CarrierFactory)
    status = Shipment.Status.PENDING


AREAS = [("01001", -23.55, -46.63, "SP"), ("20000", -22.90, -43.17, "RJ"), ("40000", -12.97, -38.50, "BA")]


def delivery_history(*, start: datetime = datetime(2017, 9, 1, 10, tzinfo=UTC), count: int = 60, every_hours: int = 48):
    """Orders from an SP seller to SP/RJ/BA customers, delivered after 3 + 3 x area-index days (+ day of month)."""
    for prefix, lat, lng, state in AREAS:
        ZipAreaFactory(prefix=prefix, latitude=lat, longitude=lng, state=state)
    seller = SellerFactory(external_id="seller-sp", zip_prefix="01001", state="SP")
    product = ProductFactory(seller=seller, weight_g=800)
    orders = []
    for i in range(count):
        prefix, _, _, state = AREAS[i % 3]
        purchased = start + timedelta(hours=every_hours * i)
        customer = CustomerFactory(zip_prefix=prefix, state=state)
        days = 3 + 3 * (i % 3) + (i % 4) * 0.5
        order = OrderFactory(
            external_id=f"hist-{i:03d}",
            customer=customer,
            status="delivered",
            purchased_at=purchased,
            approved_at=purchased + timedelta(hours=2),
            handed_to_carrier_at=purchased + timedelta(days=1),
            delivered_at=purchased + timedelta(days=days),
            shipping_zip_prefix=prefix,
            shipping_state=state,
        )
        OrderLineFactory(order=order, line_number=1, product=product, seller=seller, freight=Decimal("15.00"))
        orders.append(order)
    return orders

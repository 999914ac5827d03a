"""factory_boy factories for the core tables; apps add theirs here."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from catalog.models import Category, Customer, Product, Seller
from inventory.models import Location, StockLevel
from orders.models import Order, OrderLine, Payment


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"categoria_{n}")
    name_en = factory.Sequence(lambda n: f"category {n}")


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    external_id = factory.Sequence(lambda n: f"seller-{n}")
    zip_prefix = "01001"
    city = "sao paulo"
    state = "SP"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    seller = factory.SubFactory(SellerFactory)
    weight_g = 500
    unit_cost = Decimal("6.00")
    list_price = Decimal("10.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cust-{n}")
    zip_prefix = "22000"
    city = "rio de janeiro"
    state = "RJ"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: f"order-{n}")
    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.APPROVED
    purchased_at = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = Decimal("10.00")
    freight = Decimal("2.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    sequential = 1
    type = Payment.Type.CREDIT_CARD
    installments = 1
    value = Decimal("12.00")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH-{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = 0
    reserved = 0

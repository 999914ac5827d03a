"""Orders, their lines and payments: the hub inventory, pricing, logistics and feedback read."""

from django.db import models
from django.db.models import Q

from catalog.models import Customer, Product, Seller
from ecomops.models import TimeStampedModel


class Order(TimeStampedModel):
    """A customer's order with its lifecycle timestamps and the delivery date promised to the customer."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        APPROVED = "approved", "Approved"
        INVOICED = "invoiced", "Invoiced"
        PROCESSING = "processing", "Processing"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELED = "canceled", "Canceled"
        UNAVAILABLE = "unavailable", "Unavailable"

    external_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    customer_ref = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="The source's per-order customer id (Olist customer_id)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED, db_index=True)
    purchased_at = models.DateTimeField(db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    handed_to_carrier_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    promised_delivery_date = models.DateField(null=True, blank=True, help_text="Date promised to the customer.")
    shipping_zip_prefix = models.CharField(max_length=8, blank=True)
    shipping_city = models.CharField(max_length=128, blank=True)
    shipping_state = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["-purchased_at", "-pk"]
        indexes = [models.Index(fields=["status", "purchased_at"])]

    def __str__(self) -> str:
        return self.external_id


class OrderLine(models.Model):
    """One item of an order: product, seller, quantity, unit price and freight."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    seller = models.ForeignKey(Seller, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    freight = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    shipping_limit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_gte_0"),
            models.CheckConstraint(condition=Q(freight__gte=0), name="orderline_freight_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}"


class Payment(models.Model):
    """A payment towards an order (an order may be paid in several parts)."""

    class Type(models.TextChoices):
        CREDIT_CARD = "credit_card", "Credit card"
        BOLETO = "boleto", "Boleto"
        VOUCHER = "voucher", "Voucher"
        DEBIT_CARD = "debit_card", "Debit card"
        NOT_DEFINED = "not_defined", "Not defined"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    sequential = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=Type.choices)
    installments = models.PositiveIntegerField(default=1)
    value = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order_id", "sequential"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequential"], name="payment_unique_sequential"),
            models.CheckConstraint(condition=Q(value__gte=0), name="payment_value_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.sequential} {self.type} {self.value}"

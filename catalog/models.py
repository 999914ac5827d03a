"""Catalog: categories, sellers, products and customers."""

from django.db import models
from django.db.models import Q

from ecomops.models import TimeStampedModel


class Category(TimeStampedModel):
    """A product category, named in the source language with its English name beside it."""

    name = models.CharField(max_length=128, unique=True, help_text="Name in the source language.")
    name_en = models.CharField("English name", max_length=128, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name_en or self.name


class Seller(TimeStampedModel):
    """A seller (marketplace merchant or the store itself) and where it ships from."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)
    zip_prefix = models.CharField(max_length=8, blank=True, db_index=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class Product(TimeStampedModel):
    """A sellable item (SKU) with its physical attributes, cost and list price."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DRAFT = "draft", "Draft"
        DISCONTINUED = "discontinued", "Discontinued"

    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    seller = models.ForeignKey(Seller, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    weight_g = models.PositiveIntegerField("weight (g)", null=True, blank=True)
    length_cm = models.PositiveIntegerField("length (cm)", null=True, blank=True)
    height_cm = models.PositiveIntegerField("height (cm)", null=True, blank=True)
    width_cm = models.PositiveIntegerField("width (cm)", null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    list_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0) | Q(unit_cost__isnull=True), name="product_cost_gte_0"),
            models.CheckConstraint(
                condition=Q(list_price__gte=0) | Q(list_price__isnull=True), name="product_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()

    @property
    def volume_cm3(self) -> int | None:
        if self.length_cm and self.height_cm and self.width_cm:
            return self.length_cm * self.height_cm * self.width_cm
        return None


class Customer(TimeStampedModel):
    """A person who buys. Personal data is kept to name and e-mail; location is coarse (postal prefix)."""

    external_id = models.CharField(max_length=64, unique=True, help_text="The person (Olist customer_unique_id).")
    name = models.CharField(max_length=128, blank=True)
    email = models.EmailField(blank=True)
    zip_prefix = models.CharField(max_length=8, blank=True, db_index=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.external_id

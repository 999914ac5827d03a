"""Inventory reads: stock levels and the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from catalog.models import Product

from .models import Location, StockLevel, StockMovement


@dataclass(frozen=True)
class LedgerTotals:
    """On hand and reserved as the sum of a product's movements at a location."""

    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def stock_level_from_ledger(product: Product, location: Location) -> LedgerTotals:
    """Sum the ledger of one product at one location (what the StockLevel row must equal)."""
    totals = StockMovement.objects.filter(product=product, location=location).aggregate(
        on_hand=Coalesce(Sum("on_hand_delta"), 0), reserved=Coalesce(Sum("reserved_delta"), 0)
    )
    return LedgerTotals(on_hand=totals["on_hand"], reserved=totals["reserved"])


def stock_level_get(*, product: Product, location: Location) -> StockLevel | None:
    """The stock level row of a product at a location, or None when nothing was ever moved there."""
    return StockLevel.objects.filter(product=product, location=location).first()


def stock_level_list() -> QuerySet[StockLevel]:
    """Stock levels with their product and location, in a stable order."""
    return StockLevel.objects.select_related("product", "location").order_by("product__sku", "location__code", "pk")


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first, with product, location and author."""
    return StockMovement.objects.select_related("product", "location", "created_by").order_by("-created_at", "-pk")

"""Factories of pricing rows and a small simulated market loaded into the database."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from inventory.models import SalesObservation
from pricing.ml.simulator import simulate_market
from pricing.models import CompetitorPrice, PriceHistory, PriceRecommendation, PricingRule
from tests.factories import CategoryFactory, LocationFactory, ProductFactory


class PricingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricingRule

    category = None
    min_margin = Decimal("0.10")
    max_step = Decimal("0.10")


class PriceHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceHistory

    product = factory.SubFactory(ProductFactory)
    location = None
    price = Decimal("10.00")
    effective_from = date(2024, 1, 1)


class CompetitorPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompetitorPrice

    product = factory.SubFactory(ProductFactory)
    competitor = "rival"
    price = Decimal("10.00")
    observed_at = factory.LazyFunction(timezone.now)


class PriceRecommendationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceRecommendation

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory)
    as_of = date(2024, 6, 1)
    effective_from = date(2030, 6, 3)
    current_price = Decimal("10.0000")
    recommended_price = Decimal("9.0000")
    unit_cost = Decimal("6.0000")
    elasticity = -3.0
    elasticity_low = -3.4
    elasticity_high = -2.6
    expected_units_current = 100.0
    expected_units = 137.17
    expected_revenue_current = 1000.0
    expected_revenue = 1234.57
    expected_profit_current = 400.0
    expected_profit = 411.52
    binding_rule = "optimum"


def load_simulated_market(*, n_products: int = 4, n_locations: int = 3, n_weeks: int = 60, seed: int = 1):
    """Products SIM-000.., locations LOC-0.. and weekly sales observations from the simulator; returns the market."""
    market = simulate_market(
        n_products=n_products,
        n_categories=1,
        n_locations=n_locations,
        n_weeks=n_weeks,
        seed=seed,
        start=date(2023, 1, 2),
    )
    category = CategoryFactory(name="juice")
    products = {
        row.product: ProductFactory(
            sku=row.product,
            category=category,
            unit_cost=Decimal(str(row.unit_cost)),
            list_price=Decimal(str(row.base_price)),
        )
        for row in market.truth.itertuples()
    }
    locations = {code: LocationFactory(code=code) for code in market.history["location"].unique()}
    SalesObservation.objects.bulk_create(
        [
            SalesObservation(
                product=products[r.product],
                location=locations[r.location],
                period_start=r.period_start,
                units=float(r.units),
                price=Decimal(str(r.price)),
                on_display=bool(r.display),
                on_feature=bool(r.feature),
            )
            for r in market.history.itertuples()
        ]
    )
    return market

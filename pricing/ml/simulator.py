"""A market simulator with known price response, for benchmarks and tests of estimation and optimisation.

log units = level(product, location) + elasticity(product)·log price + cross·log price(substitute)
            + display lift + feature lift + yearly season + noise
No Django imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedMarket:
    """History to fit on, and the truth behind it."""

    history: pd.DataFrame
    truth: pd.DataFrame  # product, category, elasticity, base_price, unit_cost, competitor_price, level


def simulate_market(
    *,
    n_products: int = 40,
    n_categories: int = 4,
    n_locations: int = 6,
    n_weeks: int = 104,
    elasticity_range: tuple[float, float] = (-4.0, -0.5),
    noise: float = 0.25,
    seed: int = 0,
    start: date = date(2024, 1, 1),
) -> SimulatedMarket:
    rng = np.random.default_rng(seed)
    products = [f"SIM-{i:03d}" for i in range(n_products)]
    categories = [f"cat-{i % n_categories}" for i in range(n_products)]
    elasticity = rng.uniform(*elasticity_range, n_products)
    base_price = rng.uniform(3, 30, n_products).round(2)
    unit_cost = (base_price * rng.uniform(0.35, 0.65, n_products)).round(2)
    competitor = (base_price * rng.uniform(0.9, 1.1, n_products)).round(2)
    level = rng.uniform(2.0, 5.0, n_products)
    display_lift, feature_lift = 0.35, 0.25
    season_amp = {c: rng.uniform(0.0, 0.15) for c in sorted(set(categories))}  # sorted: str hashes vary per run
    locations = [f"LOC-{j}" for j in range(n_locations)]
    location_level = rng.normal(0, 0.3, n_locations)
    weeks = [start + timedelta(days=7 * w) for w in range(n_weeks)]
    doy = np.array([(d.timetuple().tm_yday - 1) / 365.25 for d in weeks])

    # each location sets weekly prices: regular-price changes plus temporary promotions with display/feature
    price = np.empty((n_products, n_locations, n_weeks))
    display = np.zeros_like(price)
    feature = np.zeros_like(price)
    for i in range(n_products):
        for j in range(n_locations):
            regular = base_price[i] * np.exp(np.cumsum(rng.normal(0, 0.03, n_weeks)).clip(-0.25, 0.25))
            promo = rng.random(n_weeks) < 0.15
            depth = rng.uniform(0.1, 0.3, n_weeks)
            price[i, j] = regular * np.where(promo, 1 - depth, 1.0)
            display[i, j] = promo & (rng.random(n_weeks) < 0.6)
            feature[i, j] = promo & (rng.random(n_weeks) < 0.4)
    substitute = [(i + n_categories) % n_products for i in range(n_products)]  # same category, next product
    rows = []
    for i, product in enumerate(products):
        s = substitute[i]
        for j, location in enumerate(locations):
            mu = (
                level[i]
                + location_level[j]
                + elasticity[i] * np.log(price[i, j] / base_price[i])
                + 0.3 * np.log(price[s, j] / base_price[s])
                + display_lift * display[i, j]
                + feature_lift * feature[i, j]
                + season_amp[categories[i]] * np.sin(2 * np.pi * doy)
            )
            units = np.round(np.exp(mu + rng.normal(0, noise, n_weeks)))
            for w in range(n_weeks):
                rows.append(
                    (
                        product,
                        location,
                        categories[i],
                        weeks[w],
                        units[w],
                        round(price[i, j, w], 2),
                        display[i, j, w],
                        feature[i, j, w],
                    )
                )
    history = pd.DataFrame(
        rows, columns=["product", "location", "category", "period_start", "units", "price", "display", "feature"]
    )
    truth = pd.DataFrame(
        {
            "product": products,
            "category": categories,
            "elasticity": elasticity,
            "base_price": base_price,
            "unit_cost": unit_cost,
            "competitor_price": competitor,
            "level": level,
        }
    )
    return SimulatedMarket(history=history, truth=truth)

"""Reads of the pricing app: history frames for the models, prices in force, rules, competitor positions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django.db.models import Min, OuterRef, QuerySet, Subquery

from catalog.models import Category, Product
from inventory.models import Location, SalesObservation

from .ml.optimiser import PricingRules
from .models import (
    CompetitorPrice,
    CompetitorPriceAlert,
    ElasticityEstimate,
    PriceChangeAudit,
    PriceHistory,
    PriceRecommendation,
    PricingRule,
    Promotion,
)

HISTORY_COLUMNS = [
    "product",
    "location",
    "category",
    "period_start",
    "units",
    "price",
    "display",
    "feature",
    "discount",
]


def sales_history(*, until: date, products: QuerySet[Product] | None = None) -> pd.DataFrame:
    """Point-of-sale history strictly before ``until`` as the frame ``pricing.ml`` fits on (SKU and location code
    as keys). Rows without a price are left out: they say nothing about price response."""
    observations = SalesObservation.objects.filter(period_start__lt=until, price__isnull=False)
    if products is not None:
        observations = observations.filter(product__in=products)
    rows = observations.order_by("product_id", "location_id", "period_start").values_list(
        "product__sku",
        "location__code",
        "product__category__name",
        "period_start",
        "units",
        "price",
        "on_display",
        "on_feature",
        "on_discount",
    )
    frame = pd.DataFrame(list(rows), columns=HISTORY_COLUMNS)
    covered = set(frame["product"]) if not frame.empty else set()
    from_orders = order_sales_weekly(until=until, products=products, exclude_skus=covered)
    if not from_orders.empty:
        frame = from_orders if frame.empty else pd.concat([frame, from_orders], ignore_index=True)
    if frame.empty:
        return frame
    frame["price"] = frame["price"].astype(float)
    frame["category"] = frame["category"].fillna("uncategorised")
    for column in ("display", "feature", "discount"):
        frame[column] = frame[column].astype(float)
    return frame


def order_sales_weekly(
    *, until: date, products: QuerySet[Product] | None = None, exclude_skus: set[str] = frozenset()
) -> pd.DataFrame:
    """Weekly units and average price paid per product and location from the store's own order lines (before
    ``until``), for products that have no point-of-sale totals; promotion flags from the promotions in force.

    Weeks without a sale are left out: the log-log model has no use for them, and the price actually paid
    is only known when something sold.
    """
    from inventory.forecasting import order_demand_daily

    daily = order_demand_daily(before=until)
    daily = daily[daily["y"] > 0]
    if daily.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    if products is not None:
        daily = daily[daily["product_id"].isin(set(products.values_list("pk", flat=True)))]
    keys = {
        pk: (sku, category)
        for pk, sku, category in Product.objects.filter(pk__in=daily["product_id"].unique()).values_list(
            "pk", "sku", "category__name"
        )
    }
    codes = dict(Location.objects.filter(pk__in=daily["location_id"].unique()).values_list("pk", "code"))
    daily = daily.assign(
        revenue=daily["y"] * daily["price"],
        period_start=(daily["ds"] - pd.to_timedelta(daily["ds"].dt.weekday, unit="D")).dt.date,
    )
    weekly = daily.groupby(["product_id", "location_id", "period_start"], as_index=False).agg(
        units=("y", "sum"), revenue=("revenue", "sum")
    )
    weekly["price"] = weekly["revenue"] / weekly["units"]
    weekly["product"] = weekly["product_id"].map(lambda pk: keys[pk][0])
    weekly["category"] = weekly["product_id"].map(lambda pk: keys[pk][1])
    weekly["location"] = weekly["location_id"].map(codes)
    weekly = weekly[~weekly["product"].isin(exclude_skus)]
    promotions = Promotion.objects.filter(product_id__in=weekly["product_id"].unique(), starts_on__lt=until)
    flags = {kind: set() for kind in Promotion.Kind.values}
    for product_id, kind, starts_on, ends_on in promotions.values_list("product_id", "kind", "starts_on", "ends_on"):
        week = starts_on - timedelta(days=starts_on.weekday())
        while week <= ends_on:
            flags[kind].add((product_id, week))
            week += timedelta(days=7)
    pairs = list(zip(weekly["product_id"], weekly["period_start"], strict=True))
    weekly["display"] = [pair in flags[Promotion.Kind.DISPLAY] for pair in pairs]
    weekly["feature"] = [pair in flags[Promotion.Kind.FEATURE] for pair in pairs]
    weekly["discount"] = [pair in flags[Promotion.Kind.DISCOUNT] for pair in pairs]
    return weekly[HISTORY_COLUMNS].reset_index(drop=True)


def price_in_force(*, product: Product, location: Location | None, on: date) -> Decimal | None:
    """The price of ``product`` at ``location`` on day ``on``: the latest location row, else the latest
    everywhere row, else the last observed shelf price, else the list price, else the last unit price an order
    paid for it up to that day (a marketplace such as Olist records prices only on its order lines)."""
    rows = PriceHistory.objects.filter(product=product, effective_from__lte=on)
    if location is not None:
        row = rows.filter(location=location).order_by("-effective_from").first()
        if row is not None and (row.effective_to is None or row.effective_to >= on):
            return row.price
    row = rows.filter(location__isnull=True).order_by("-effective_from").first()
    if row is not None and (row.effective_to is None or row.effective_to >= on):
        return row.price
    observed = SalesObservation.objects.filter(product=product, period_start__lte=on, price__isnull=False)
    if location is not None:
        observed = observed.filter(location=location)
    last = observed.order_by("-period_start").values_list("price", flat=True).first()
    if last is not None:
        return last
    if product.list_price is not None:
        return product.list_price
    from orders.models import Order, OrderLine

    paid = OrderLine.objects.filter(product=product, order__purchased_at__date__lte=on, unit_price__gt=0).exclude(
        order__status__in=[Order.Status.CANCELED, Order.Status.UNAVAILABLE]
    )
    return paid.order_by("-order__purchased_at", "-pk").values_list("unit_price", flat=True).first()


def competitor_reference_price(*, product: Product, before: date, window_days: int = 30) -> Decimal | None:
    """The cheapest competitor's latest price observed in the ``window_days`` before ``before``."""
    from datetime import datetime, time

    from django.utils import timezone

    end = timezone.make_aware(datetime.combine(before, time.min))
    start = end - timedelta(days=window_days)
    recent = CompetitorPrice.objects.filter(product=product, observed_at__gte=start, observed_at__lt=end)
    latest = recent.filter(
        pk=Subquery(
            CompetitorPrice.objects.filter(
                product=product, competitor=OuterRef("competitor"), observed_at__gte=start, observed_at__lt=end
            )
            .order_by("-observed_at", "-pk")
            .values("pk")[:1]
        )
    )
    return latest.aggregate(m=Min("price"))["m"]


def pricing_rule_for(*, category: Category | None) -> PricingRule:
    """The category's rule, else the default rule (no category), else an unsaved rule with the model defaults."""
    if category is not None:
        rule = PricingRule.objects.filter(category=category).first()
        if rule is not None:
            return rule
    rule = PricingRule.objects.filter(category__isnull=True).order_by("pk").first()
    return rule if rule is not None else PricingRule()


def pricing_rules_as_ml(rule: PricingRule, *, period_days: int = 7) -> PricingRules:
    def frac(value):
        return float(value) if value is not None else None

    return PricingRules(
        objective=rule.objective,
        min_margin=float(rule.min_margin),
        max_step=frac(rule.max_step),
        price_ending=rule.price_ending,
        competitor_below=frac(rule.competitor_below),
        competitor_above=frac(rule.competitor_above),
        overstock_days=frac(rule.overstock_days),
        scarce_days=frac(rule.scarce_days),
        period_days=period_days,
    )


def stock_available(*, product: Product, location: Location | None) -> float | None:
    if location is None:
        return None
    from inventory.selectors import stock_level_get

    level = stock_level_get(product=product, location=location)
    return float(level.available) if level is not None else None


def price_history_list() -> QuerySet[PriceHistory]:
    return PriceHistory.objects.select_related("product", "location", "created_by").order_by(
        "product_id", "location_id", "-effective_from", "pk"
    )


def promotion_list() -> QuerySet:
    from .models import Promotion

    return Promotion.objects.select_related("product", "location").order_by("-starts_on", "product_id", "pk")


def competitor_price_list() -> QuerySet[CompetitorPrice]:
    return CompetitorPrice.objects.select_related("product").order_by("-observed_at", "pk")


def elasticity_list() -> QuerySet[ElasticityEstimate]:
    return ElasticityEstimate.objects.select_related("product", "location", "model_version__registered_model").order_by(
        "product_id", "location_id", "-model_version_id", "pk"
    )


def recommendation_list() -> QuerySet[PriceRecommendation]:
    return PriceRecommendation.objects.select_related(
        "product", "location", "decided_by", "model_version__registered_model"
    ).order_by("-as_of", "product_id", "location_id", "pk")


def competitor_alert_list() -> QuerySet[CompetitorPriceAlert]:
    return CompetitorPriceAlert.objects.select_related("product", "competitor_price").order_by("-created_at", "-pk")


def price_audit_list() -> QuerySet[PriceChangeAudit]:
    return PriceChangeAudit.objects.select_related("product", "location", "changed_by").order_by("-changed_at", "-pk")


def pricing_rule_list() -> QuerySet[PricingRule]:
    return PricingRule.objects.select_related("category").order_by("category_id", "pk")


# ------------------------------------------------------------------------------------- report data


def latest_price_response_version():
    """The active price-response version, else the newest one."""
    from ecomops.models import ModelVersion

    versions = ModelVersion.objects.filter(registered_model__name="price_response").select_related("registered_model")
    return versions.filter(status=ModelVersion.Status.ACTIVE).first() or versions.order_by("-pk").first()


def elasticity_frame(*, version=None, product_level: bool = True) -> pd.DataFrame:
    """Elasticities of ``version`` (default: active / newest): sku, location, elasticity, low, high, n_obs, flags."""
    version = version or latest_price_response_version()
    columns = ["sku", "name", "location", "elasticity", "low", "high", "n_obs", "flags", "explanation", "cross_prices"]
    if version is None:
        return pd.DataFrame(columns=columns)
    rows = ElasticityEstimate.objects.filter(model_version=version, location__isnull=product_level)
    data = [
        (
            e.product.sku,
            e.product.name,
            e.location.code if e.location else "",
            e.elasticity,
            e.low,
            e.high,
            e.n_obs,
            ", ".join(e.flags),
            e.explanation,
            ", ".join(f"{sku} {value:+.2f}" for sku, value in sorted(e.cross_elasticities.items())),
        )
        for e in rows.select_related("product", "location").order_by("elasticity", "pk")
    ]
    return pd.DataFrame(data, columns=columns)


def competitor_position_frame(*, on: date) -> pd.DataFrame:
    """Per product with competitor observations in the 30 days before ``on``: our price, cheapest competitor,
    gap (our / competitor - 1) and open alerts."""
    since = on - timedelta(days=30)
    product_ids = (
        CompetitorPrice.objects.filter(observed_at__date__gte=since, observed_at__date__lte=on)
        .values_list("product_id", flat=True)
        .distinct()
    )
    open_alerts = dict(
        CompetitorPriceAlert.objects.filter(status="open", product_id__in=product_ids)
        .values("product_id")
        .annotate(n=models_count("pk"))
        .values_list("product_id", "n")
    )
    data = []
    for product in Product.objects.filter(pk__in=product_ids).order_by("sku"):
        ours = price_in_force(product=product, location=None, on=on)
        reference = competitor_reference_price(product=product, before=on + timedelta(days=1))
        gap = float(ours / reference - 1) if ours and reference else None
        data.append((product.sku, product.name, _float(ours), _float(reference), gap, open_alerts.get(product.pk, 0)))
    return pd.DataFrame(data, columns=["sku", "name", "our_price", "cheapest_competitor", "gap", "open_alerts"])


def recommendation_frame(*, statuses: list[str] | None = None) -> pd.DataFrame:
    """Recommendations with their expected impact (profit and revenue change per period)."""
    recs = recommendation_list()
    if statuses:
        recs = recs.filter(status__in=statuses)
    data = [
        (
            r.pk,
            r.product.sku,
            r.location.code if r.location else "",
            r.status,
            float(r.current_price),
            float(r.recommended_price),
            r.change_pct,
            r.elasticity,
            r.elasticity_low,
            r.elasticity_high,
            r.expected_units_current,
            r.expected_units,
            r.expected_profit_current,
            r.expected_profit,
            r.expected_profit - r.expected_profit_current,
            r.expected_revenue - r.expected_revenue_current,
            r.binding_rule,
            r.as_of,
        )
        for r in recs[:5000]
    ]
    return pd.DataFrame(
        data,
        columns=[
            "id",
            "sku",
            "location",
            "status",
            "current_price",
            "recommended_price",
            "change_pct",
            "elasticity",
            "elasticity_low",
            "elasticity_high",
            "expected_units_current",
            "expected_units",
            "expected_profit_current",
            "expected_profit",
            "profit_change",
            "revenue_change",
            "binding_rule",
            "as_of",
        ],
    )


def realised_vs_expected_frame() -> pd.DataFrame:
    """For every applied recommendation: expected units per period at the new price next to the units actually
    sold per period since it took effect (and before, at the old price)."""
    from django.db.models import Avg, Count

    data = []
    applied = recommendation_list().filter(status=PriceRecommendation.Status.APPLIED, location__isnull=False)
    for r in applied[:2000]:
        start = r.applied_price.effective_from if r.applied_price_id else r.effective_from
        sales = SalesObservation.objects.filter(product_id=r.product_id, location_id=r.location_id)
        after = sales.filter(period_start__gte=start).aggregate(units=Avg("units"), n=Count("pk"))
        before = sales.filter(period_start__lt=start, period_start__gte=start - timedelta(weeks=8)).aggregate(
            units=Avg("units"), n=Count("pk")
        )
        data.append(
            (
                r.product.sku,
                r.location.code,
                start,
                float(r.current_price),
                float(r.recommended_price),
                r.expected_units_current,
                before["units"],
                r.expected_units,
                after["units"],
                after["n"],
                (after["units"] / r.expected_units - 1) if after["units"] is not None and r.expected_units else None,
            )
        )
    return pd.DataFrame(
        data,
        columns=[
            "sku",
            "location",
            "effective_from",
            "old_price",
            "new_price",
            "expected_units_old_price",
            "realised_units_before",
            "expected_units_new_price",
            "realised_units_after",
            "periods_after",
            "realised_vs_expected",
        ],
    )


def _float(value) -> float | None:
    return float(value) if value is not None else None


def models_count(field_name: str):
    from django.db.models import Count

    return Count(field_name)

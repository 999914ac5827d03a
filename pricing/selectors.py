"""Reads of the pricing app: history frames for the models, prices in force, rules, competitor positions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from catalog.models import Category, Product
from ecomops.models import defer_documents
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


#: Products per query of the many-series reads (SQLite allows 32,766 parameters; PostgreSQL plans stay small).
CHUNK = 2000

Key = tuple[int, int | None]  # (product id, location id or None: every location)


def id_chunks(ids) -> list[list[int]]:
    """Ids (deduplicated, sorted) in lists of at most ``CHUNK``, for ``__in`` filters."""
    ordered = sorted(set(ids))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def _first_per(queryset: QuerySet, *, partition: list[str], order: list, fields: tuple[str, ...]):
    """``fields`` of the first row of each ``partition`` group of ``queryset`` by ``order`` (one query, a window)."""
    ranked = queryset.annotate(
        first_rank=Window(RowNumber(), partition_by=[F(name) for name in partition], order_by=order)
    )
    return ranked.filter(first_rank=1).values_list(*fields)


def _key(product: Product, location: Location | None) -> Key:
    return product.pk, location.pk if location is not None else None


def price_in_force(*, product: Product, location: Location | None, on: date) -> Decimal | None:
    """The price of ``product`` at ``location`` on day ``on``: the latest location row, else the latest
    everywhere row, else the last observed shelf price, else the list price, else the last unit price an order
    paid for it up to that day (a marketplace such as Olist records prices only on its order lines)."""
    return prices_in_force(series=[(product, location)], on=on)[_key(product, location)]


def prices_in_force(*, series: list[tuple[Product, Location | None]], on: date) -> dict[Key, Decimal | None]:
    """``price_in_force`` of many (product, location) series, by (product id, location id): the same fallbacks
    in at most four queries per 2,000 products, instead of up to five per series (the last one, the price an
    order paid, took 0.17 s per product on PostgreSQL at full Olist scale: recommending prices for its 18k
    products spent most of an hour there)."""
    products = {product.pk: product for product, _ in series}
    wanted = {_key(product, location) for product, location in series}
    result: dict[Key, Decimal | None] = {}

    latest: dict[Key, tuple] = {}
    for ids in id_chunks(products):
        rows = _first_per(
            PriceHistory.objects.filter(product_id__in=ids, effective_from__lte=on),
            partition=["product_id", "location_id"],
            order=[F("effective_from").desc(), F("pk").desc()],
            fields=("product_id", "location_id", "effective_to", "price"),
        )
        latest.update({(pid, lid): (to, price) for pid, lid, to, price in rows})
    for key in wanted:
        pid, lid = key
        # the latest location row when it is in force, else the latest everywhere row when it is
        for row in ([latest.get(key)] if lid is not None else []) + [latest.get((pid, None))]:
            if row is not None and (row[0] is None or row[0] >= on):
                result[key] = row[1]
                break

    pending = wanted - result.keys()
    observed: dict[Key, tuple] = {}
    for ids in id_chunks(pid for pid, _ in pending):
        rows = _first_per(
            SalesObservation.objects.filter(product_id__in=ids, period_start__lte=on, price__isnull=False),
            partition=["product_id", "location_id"],
            order=[F("period_start").desc()],
            fields=("product_id", "location_id", "period_start", "price"),
        )
        for pid, lid, period, price in sorted(rows, key=lambda row: (row[0], row[1] or 0)):
            observed[(pid, lid)] = (period, price)
            anywhere = observed.get((pid, None))
            if anywhere is None or period > anywhere[0]:
                observed[(pid, None)] = (period, price)  # the latest at any location (a tie: the first location)
    for key in pending:
        if key in observed:
            result[key] = observed[key][1]
        elif products[key[0]].list_price is not None:
            result[key] = products[key[0]].list_price

    pending = wanted - result.keys()
    if pending:
        from orders.models import Order, OrderLine

        paid: dict[int, Decimal] = {}
        for ids in id_chunks(pid for pid, _ in pending):
            lines = OrderLine.objects.filter(
                product_id__in=ids, order__purchased_at__date__lte=on, unit_price__gt=0
            ).exclude(order__status__in=[Order.Status.CANCELED, Order.Status.UNAVAILABLE])
            rows = _first_per(
                lines,
                partition=["product_id"],
                order=[F("order__purchased_at").desc(), F("pk").desc()],
                fields=("product_id", "unit_price"),
            )
            paid.update(dict(rows))
        for key in pending:
            result[key] = paid.get(key[0])
    return result


def competitor_reference_price(*, product: Product, before: date, window_days: int = 30) -> Decimal | None:
    """The cheapest competitor's latest price observed in the ``window_days`` before ``before``."""
    return competitor_reference_prices(products=[product], before=before, window_days=window_days).get(product.pk)


def competitor_reference_prices(
    *, products: list[Product], before: date, window_days: int = 30
) -> dict[int, Decimal | None]:
    """``competitor_reference_price`` of many products (by id; None where no competitor was observed)."""
    from datetime import datetime, time

    from django.utils import timezone

    end = timezone.make_aware(datetime.combine(before, time.min))
    start = end - timedelta(days=window_days)
    result: dict[int, Decimal | None] = {product.pk: None for product in products}
    for ids in id_chunks(result):
        rows = _first_per(
            CompetitorPrice.objects.filter(product_id__in=ids, observed_at__gte=start, observed_at__lt=end),
            partition=["product_id", "competitor"],
            order=[F("observed_at").desc(), F("pk").desc()],
            fields=("product_id", "price"),
        )
        for pid, price in rows:
            result[pid] = price if result[pid] is None else min(result[pid], price)
    return result


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
    return stocks_available(series=[(product, location)]).get(_key(product, location))


def stocks_available(*, series: list[tuple[Product, Location | None]]) -> dict[Key, float]:
    """Units available (on hand less reserved) of each (product, location) series that has a stock level row;
    series without one, or without a location, are absent."""
    from inventory.models import StockLevel

    wanted = {_key(product, location) for product, location in series if location is not None}
    result: dict[Key, float] = {}
    for ids in id_chunks(pid for pid, _ in wanted):
        rows = StockLevel.objects.filter(product_id__in=ids, location_id__in={lid for _, lid in wanted}).values_list(
            "product_id", "location_id", "on_hand", "reserved"
        )
        result.update({(pid, lid): float(on_hand - reserved) for pid, lid, on_hand, reserved in rows})
    return {key: value for key, value in result.items() if key in wanted}


def last_margins(*, series: list[tuple[Product, Location | None]], before: date) -> dict[Key, float]:
    """The gross margin % of the latest point-of-sale week before ``before`` of each (product, location) series
    (scanner data such as Dominick's carries it instead of a unit cost); series without one are absent."""
    wanted = {_key(product, location) for product, location in series if location is not None}
    result: dict[Key, float] = {}
    for ids in id_chunks(pid for pid, _ in wanted):
        rows = _first_per(
            SalesObservation.objects.filter(
                product_id__in=ids,
                location_id__in={lid for _, lid in wanted},
                period_start__lt=before,
                profit__isnull=False,
            ),
            partition=["product_id", "location_id"],
            order=[F("period_start").desc()],
            fields=("product_id", "location_id", "profit"),
        )
        result.update({(pid, lid): profit for pid, lid, profit in rows if (pid, lid) in wanted})
    return result


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
    return defer_documents(
        ElasticityEstimate.objects.select_related("product", "location", "model_version__registered_model")
    ).order_by("product_id", "location_id", "-model_version_id", "pk")


def recommendation_list() -> QuerySet[PriceRecommendation]:
    return defer_documents(
        PriceRecommendation.objects.select_related(
            "product", "location", "decided_by", "model_version__registered_model"
        )
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
    products = list(Product.objects.filter(pk__in=product_ids).order_by("sku"))
    our_prices = prices_in_force(series=[(product, None) for product in products], on=on)
    references = competitor_reference_prices(products=products, before=on + timedelta(days=1))
    for product in products:
        ours, reference = our_prices[(product.pk, None)], references[product.pk]
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

"""HTML reports of inventory: replenishment (stock-out risk, overstock, days of cover, why) and forecasts."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.utils.html import format_html

from ecomops.reports import Chart, ReportInputError, ReportView, Table, bar_chart, new_figure

from .forecasting import DEMAND_SPEC
from .models import DemandForecast, ReplenishmentSuggestion, SalesObservation


def _latest_as_of() -> date | None:
    return ReplenishmentSuggestion.objects.order_by("-as_of").values_list("as_of", flat=True).first()


class ReplenishmentReport(ReportView):
    title = "Replenishment"
    description = (
        "Stock-out risk and overstock by product and location for the latest suggestions: days of cover, "
        "reorder point, order-up-to level and why each quantity was suggested. ?as_of=YYYY-MM-DD picks a run."
    )
    permission_required = "inventory.view_replenishmentsuggestion"
    section = "Inventory"

    def _as_of(self) -> date | None:
        raw = self.request.GET.get("as_of")
        if not raw:
            return _latest_as_of()
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ReportInputError(f"as_of: not a date (YYYY-MM-DD): {raw!r}") from None

    def get_data(self) -> pd.DataFrame:
        as_of = self._as_of()
        rows = (
            ReplenishmentSuggestion.objects.filter(as_of=as_of)
            .select_related("product", "location")
            .order_by("-stockout_risk", "product__sku", "location__code")
        )
        columns = [
            "sku", "location", "status", "on_hand", "on_order", "daily_demand", "days_of_cover", "stockout_risk",
            "overstock_units", "safety_stock", "reorder_point", "order_up_to", "quantity", "service_level", "reason",
        ]  # fmt: skip
        data = [
            [
                r.product.sku,
                r.location.code,
                r.status,
                r.on_hand,
                r.on_order,
                r.daily_demand,
                r.days_of_cover,
                r.stockout_risk,
                r.overstock_units,
                r.safety_stock,
                r.reorder_point,
                r.order_up_to,
                r.quantity,
                r.service_level,
                r.reason,
            ]  # fmt: skip
            for r in rows
        ]
        return pd.DataFrame(data, columns=columns)

    def get_summary(self, df: pd.DataFrame) -> dict:
        if df.empty:
            return {"suggestions": 0}
        return {
            "as of": str(self._as_of()),
            "suggestions": len(df),
            "to order": int((df["quantity"] > 0).sum()),
            "stock-out risk > 50%": int((df["stockout_risk"] > 0.5).sum()),
            "overstocked": int((df["overstock_units"] > 0).sum()),
        }

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        if df.empty:
            return []
        top = df.assign(item=df["sku"] + " @ " + df["location"]).head(15)
        over = df[df["overstock_units"] > 0].assign(item=lambda f: f["sku"] + " @ " + f["location"])
        over = over.sort_values("overstock_units", ascending=False).head(15)
        charts = [bar_chart(top, x="item", y="stockout_risk", title="Highest stock-out risk over lead time")]
        if not over.empty:
            charts.append(bar_chart(over, x="item", y="overstock_units", title="Overstock (units above order-up-to)"))
        return charts

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        if df.empty:
            return []
        shown = df.head(self.max_table_rows).copy()
        shown["forecast"] = [
            format_html('<a href="forecast/?sku={}&location={}">chart</a>', sku, loc)
            for sku, loc in zip(shown["sku"], shown["location"], strict=True)
        ]
        return [Table(title="Suggestions (riskiest first)", data=shown)]


class ForecastReport(ReportView):
    title = "Demand forecast"
    description = "History and the active forecast (P50 with the P10-P90 band) of one product at one location."
    permission_required = "inventory.view_demandforecast"
    section = "Inventory"

    def _series(self) -> tuple[str, str]:
        sku, location = self.request.GET.get("sku", ""), self.request.GET.get("location", "")
        if not sku or not location:
            raise ReportInputError("give ?sku=<SKU>&location=<location code>")
        return sku, location

    def get_title(self) -> str:
        sku, location = self._series()
        return f"Demand forecast: {sku} @ {location}"

    def get_data(self) -> pd.DataFrame:
        sku, location = self._series()
        rows = list(
            DemandForecast.objects.filter(
                product__sku=sku,
                location__code=location,
                model_version__registered_model__name=DEMAND_SPEC.name,
                model_version__status="active",
            )
            .order_by("period_start")
            .values("period_start", "period_days", "p10", "p50", "p90", "method", "as_of")
        )
        if not rows:
            raise ReportInputError(f"no active forecast for {sku} at {location}")
        forecast = pd.DataFrame(rows)
        period_days = int(forecast["period_days"].iloc[0])
        as_of = forecast["as_of"].iloc[0]
        history = self._history(sku, location, as_of, period_days)
        forecast["kind"] = "forecast"
        history["kind"] = "history"
        return pd.concat([history, forecast], ignore_index=True)[
            ["period_start", "kind", "actual", "p10", "p50", "p90", "method"]
        ]

    def _history(self, sku: str, location: str, as_of: date, period_days: int) -> pd.DataFrame:
        start = as_of - timedelta(days=period_days * 52 if period_days > 1 else 120)
        if period_days == 7:
            values = SalesObservation.objects.filter(
                product__sku=sku, location__code=location, period_start__gte=start, period_start__lt=as_of
            ).values_list("period_start", "units")
            return pd.DataFrame(list(values), columns=["period_start", "actual"])
        from .forecasting import order_demand_daily

        frame = order_demand_daily(before=as_of)
        from catalog.models import Product

        from .models import Location

        product = Product.objects.filter(sku=sku).first()
        loc = Location.objects.filter(code=location).first()
        if product is None or loc is None or frame.empty:
            return pd.DataFrame(columns=["period_start", "actual"])
        frame = frame[(frame["product_id"] == product.pk) & (frame["location_id"] == loc.pk)]
        frame = frame[frame["ds"] >= pd.Timestamp(start)]
        return pd.DataFrame({"period_start": frame["ds"].dt.date.to_numpy(), "actual": frame["y"].to_numpy()})

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        figure = new_figure(9, 3.4)
        axes = figure.add_subplot()
        hist = df[df["kind"] == "history"]
        fc = df[df["kind"] == "forecast"]
        axes.plot(pd.to_datetime(hist["period_start"]), hist["actual"], color="black", label="actual")
        dates = pd.to_datetime(fc["period_start"])
        axes.fill_between(dates, fc["p10"], fc["p90"], alpha=0.3, label="P10-P90")
        axes.plot(dates, fc["p50"], color="tab:blue", label="P50")
        axes.set_ylabel("units")
        axes.legend(loc="upper left")
        return [Chart.from_figure("History and forecast", figure, caption="Shaded: the P10-P90 interval.")]

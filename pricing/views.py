"""HTML reports of pricing: elasticities with intervals, price position against competitors, recommendations
with their expected impact and demand curve, realised against expected after a change. CSV on every page."""

from __future__ import annotations

from datetime import date

import pandas as pd
from django.utils import timezone

from ecomops.reports import Chart, ReportInputError, ReportView, Table, bar_chart, new_figure

from . import selectors
from .models import PriceRecommendation


class ElasticityReport(ReportView):
    title = "Price elasticity by product"
    description = "Own-price elasticity of each product with its 95% interval and plausibility flags (active model)."
    permission_required = "pricing.view_elasticityestimate"
    section = "Pricing"

    def get_data(self) -> pd.DataFrame:
        level = self.request.GET.get("level", "product")
        if level not in ("product", "location"):
            raise ReportInputError("level must be 'product' or 'location'")
        return selectors.elasticity_frame(product_level=level == "product")

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        data = df.head(60)
        figure = new_figure(height=max(3.2, 0.25 * len(data) + 1))
        axes = figure.add_subplot()
        labels = [f"{s} {loc}".strip() for s, loc in zip(data["sku"], data["location"], strict=True)]
        if len(data):
            positions = range(len(data))
            axes.errorbar(
                data["elasticity"],
                positions,
                xerr=[data["elasticity"] - data["low"], data["high"] - data["elasticity"]],
                fmt="o",
                capsize=3,
            )
            axes.axvline(0, color="red", linewidth=0.8)
            axes.axvline(-1, color="grey", linestyle="--", linewidth=0.8)
            axes.set_yticks(list(positions), labels)
            axes.invert_yaxis()
        else:
            axes.text(0.5, 0.5, "no model trained yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_xlabel("own-price elasticity (95% interval); dashed: -1, red: 0")
        return [Chart.from_figure("Elasticity with 95% interval", figure)]

    def get_summary(self, df: pd.DataFrame) -> dict:
        if df.empty:
            return {}
        return {
            "estimates": len(df),
            "median elasticity": f"{df['elasticity'].median():.2f}",
            "flagged": int((df["flags"] != "").sum()),
            "positive": int((df["elasticity"] > 0).sum()),
        }


class CompetitorPositionReport(ReportView):
    title = "Price position against competitors"
    description = "Our price against the cheapest competitor observed in the last 30 days, with open alerts."
    permission_required = "pricing.view_competitorprice"
    section = "Pricing"

    def _on(self) -> date:
        value = self.request.GET.get("on")
        if not value:
            return timezone.localdate()
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ReportInputError(f"on={value!r} is not a date (YYYY-MM-DD)") from None

    def get_data(self) -> pd.DataFrame:
        return selectors.competitor_position_frame(on=self._on())

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        data = df.dropna(subset=["gap"]).assign(gap_pct=lambda d: d["gap"] * 100).sort_values("gap_pct")
        return [bar_chart(data, x="sku", y="gap_pct", title="Our price vs cheapest competitor (%)", ylabel="%")]


class RecommendationReport(ReportView):
    title = "Price recommendations and expected impact"
    description = "Open and decided recommendations: expected units, revenue and profit at current and new price."
    permission_required = "pricing.view_pricerecommendation"
    section = "Pricing"

    def get_data(self) -> pd.DataFrame:
        status = self.request.GET.get("status", "")
        valid = set(PriceRecommendation.Status.values)
        if status and status not in valid:
            raise ReportInputError(f"status must be one of {', '.join(sorted(valid))}")
        return selectors.recommendation_frame(statuses=[status] if status else None)

    def _selected(self) -> PriceRecommendation | None:
        value = self.request.GET.get("id")
        if not value:
            return None
        if not value.isdigit():
            raise ReportInputError("id must be a recommendation number")
        rec = selectors.recommendation_list().filter(pk=int(value)).first()
        if rec is None:
            raise ReportInputError(f"recommendation {value} does not exist")
        return rec

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        charts = []
        rec = self._selected() or selectors.recommendation_list().filter(status="proposed").first()
        if rec is not None and rec.demand_curve:
            curve = pd.DataFrame(rec.demand_curve)
            figure = new_figure()
            axes = figure.add_subplot()
            axes.plot(curve["price"], curve["profit"], label="expected profit")
            axes.plot(curve["price"], curve["revenue"], label="expected revenue", linestyle=":")
            axes.axvline(float(rec.current_price), color="grey", linestyle="--", label="current price")
            axes.axvline(float(rec.recommended_price), color="green", label=f"recommended ({rec.binding_rule})")
            axes.set_xlabel("price")
            axes.set_ylabel("per period")
            axes.legend(fontsize="small")
            axes.grid(alpha=0.3)
            twin = axes.twinx()
            twin.plot(curve["price"], curve["units"], color="black", alpha=0.4, label="units")
            twin.set_ylabel("expected units")
            charts.append(
                Chart.from_figure(
                    f"Demand curve: {rec.product.sku} @ {rec.location.code if rec.location else '*'}",
                    figure,
                    caption="?id=<recommendation> shows another one",
                )
            )
        if not df.empty:
            top = df.reindex(df["profit_change"].abs().sort_values(ascending=False).index).head(30)
            top = top.assign(label=top["sku"] + " " + top["location"])
            charts.append(bar_chart(top, x="label", y="profit_change", title="Expected profit change per period"))
        return charts

    def get_summary(self, df: pd.DataFrame) -> dict:
        if df.empty:
            return {}
        proposed = df[df["status"] == "proposed"]
        return {
            "recommendations": len(df),
            "proposed": len(proposed),
            "expected profit change (proposed)": f"{proposed['profit_change'].sum():,.2f}",
            "bound by a rule": int((df["binding_rule"] != "optimum").sum()),
        }


class RealisedReport(ReportView):
    title = "Realised vs expected after a price change"
    description = "Applied recommendations: units sold per period since the change next to the model's expectation."
    permission_required = "pricing.view_pricerecommendation"
    section = "Pricing"

    def get_data(self) -> pd.DataFrame:
        return selectors.realised_vs_expected_frame()

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        data = df.dropna(subset=["realised_units_after"]).assign(label=lambda d: d["sku"] + " " + d["location"])
        return [
            bar_chart(
                data,
                x="label",
                y=["expected_units_new_price", "realised_units_after"],
                title="Units per period: expected vs realised",
            )
        ]

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        return [Table(title="Applied changes", data=df.head(self.max_table_rows))] if not df.empty else []

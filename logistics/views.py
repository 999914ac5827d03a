"""HTML reports of logistics: carrier performance, likely-late orders, route plans (map-like plot)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ecomops.reports import Chart, ReportInputError, ReportView, bar_chart, line_chart, new_figure

from .models import RoutePlan
from .selectors import carrier_performance, likely_late_predictions


def _date_param(request, name: str) -> date | None:
    value = request.GET.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportInputError(f"{name}: {value!r} is not a date in the form YYYY-MM-DD")


class CarrierPerformanceReport(ReportView):
    title = "Carrier performance"
    description = "On-time rate of delivered shipments by carrier, region (customer state) and month."
    permission_required = "logistics.view_shipment"
    section = "Logistics"
    csv_filename = "carrier-performance.csv"

    def get_data(self) -> pd.DataFrame:
        start, end = _date_param(self.request, "start"), _date_param(self.request, "end")
        if start and end and start >= end:
            raise ReportInputError("start must be before end")
        return carrier_performance(start=start, end=end)

    def get_summary(self, df: pd.DataFrame) -> dict:
        shipments = int(df["shipments"].sum()) if len(df) else 0
        on_time = int(df["on_time"].sum()) if len(df) else 0
        return {"shipments": shipments, "on-time rate": f"{on_time / shipments:.1%}" if shipments else "—"}

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        if df.empty:
            return []
        by_month = df.groupby(["month", "carrier"])[["shipments", "on_time"]].sum().reset_index()
        by_month["on_time_rate"] = by_month["on_time"] / by_month["shipments"]
        wide = by_month.pivot(index="month", columns="carrier", values="on_time_rate").reset_index()
        by_region = df.groupby("region")[["shipments", "on_time"]].sum().reset_index()
        by_region["on_time_rate"] = by_region["on_time"] / by_region["shipments"]
        return [
            line_chart(
                wide,
                x="month",
                y=[c for c in wide.columns if c != "month"],
                title="On-time rate by month",
                ylabel="share on time",
            ),
            bar_chart(
                by_region.sort_values("on_time_rate"),
                x="region",
                y="on_time_rate",
                title="On-time rate by region",
                horizontal=True,
            ),
        ]


class LikelyLateReport(ReportView):
    title = "Likely late orders"
    description = "Undelivered orders whose predicted probability of missing the promise is at least 50 %."
    permission_required = "logistics.view_deliveryprediction"
    section = "Logistics"
    csv_filename = "likely-late.csv"

    def get_data(self) -> pd.DataFrame:
        rows = [
            {
                "order_id": p.order.external_id,
                "purchased_at": p.order.purchased_at,
                "eta_date": p.eta_date,
                "promise_date": p.promise_date,
                "late_risk": round(p.late_risk, 4),
                "model_version": f"{p.model_version.registered_model.name} v{p.model_version.version}",
            }
            for p in likely_late_predictions()[:2000]
        ]
        return pd.DataFrame(
            rows, columns=["order_id", "purchased_at", "eta_date", "promise_date", "late_risk", "model_version"]
        )


class RoutePlanReport(ReportView):
    title = "Route plan"
    description = "Stops of a planned day, route by route, drawn on longitude/latitude."
    permission_required = "logistics.view_routeplan"
    section = "Logistics"

    def _plan(self) -> RoutePlan:
        plan = RoutePlan.objects.select_related("location").filter(pk=self.kwargs["pk"]).first()
        if plan is None:
            raise ReportInputError(f"no route plan {self.kwargs['pk']}")
        return plan

    def get_data(self) -> pd.DataFrame:
        columns = [
            "route_number",
            "sequence",
            "shipment_id",
            "latitude",
            "longitude",
            "load",
            "distance_from_previous_km",
            "planned_arrival",
        ]
        rows = list(self._plan().stops.order_by("route_number", "sequence").values(*columns))
        return pd.DataFrame(rows, columns=columns)

    def get_summary(self, df: pd.DataFrame) -> dict:
        plan = self._plan()
        return {
            "location": plan.location.code,
            "date": plan.date,
            "routes": plan.routes_used,
            "distance (km)": round(plan.total_distance_km, 1),
            "unplanned": len(plan.unplanned),
        }

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        plan = self._plan()
        depot = (plan.location.latitude, plan.location.longitude)
        figure = new_figure(width=7, height=6)
        axes = figure.add_subplot()
        for number, stops in df.groupby("route_number"):
            lats, lngs = list(stops["latitude"]), list(stops["longitude"])
            if None not in depot:
                lats, lngs = [depot[0], *lats, depot[0]], [depot[1], *lngs, depot[1]]
            axes.plot(lngs, lats, marker="o", label=f"route {number}")
        if None not in depot:
            axes.plot([depot[1]], [depot[0]], marker="s", color="black", markersize=10, label="depot")
        axes.set_xlabel("longitude")
        axes.set_ylabel("latitude")
        axes.legend(fontsize="small")
        return [Chart.from_figure("Routes", figure)]


class HandlingTimeReport(ReportView):
    title = "Seller handling times"
    description = "Expected days from approval to carrier hand-off per seller (shrunk towards the network's)."
    permission_required = "logistics.view_shipment"
    section = "Logistics"
    csv_filename = "handling-times.csv"

    def get_data(self) -> pd.DataFrame:
        from django.utils import timezone

        from .selectors import seller_handling_times

        as_of = _date_param(self.request, "as_of") or timezone.now().date()
        return seller_handling_times(as_of=as_of)

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        if df.empty:
            return []
        return [bar_chart(df.head(30), x="seller_id", y="expected_days", title="Slowest sellers", horizontal=True)]

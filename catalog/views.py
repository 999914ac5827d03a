"""HTML reports of catalog: the customers report (segments, value, churn risk, movement between segments)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from django.db.models import Count

from ecomops.reports import Chart, ReportInputError, ReportView, Table, bar_chart, line_chart

from . import services_customers as svc
from .models import CustomerScore, CustomerSegment


class CustomersReport(ReportView):
    """Segment sizes and value on one snapshot date (``?as_of=YYYY-MM-DD``, default the latest), segment
    sizes over time, movement from the previous snapshot (or ``?from=``), churn-risk bands. CSV: the
    per-segment table."""

    title = "Customers: segments, value and churn risk"
    description = "RFM segments with their size, spend and CLV; movement between segments over time; churn risk."
    permission_required = "catalog.view_customersegmentsnapshot"
    section = "Customers"
    csv_filename = "customer-segments"

    def _dates(self) -> tuple[date | None, date | None]:
        dates = svc.rfm_dates()
        as_of = self._date_param("as_of") or (dates[-1] if dates else None)
        if as_of is not None and dates and as_of not in dates:
            raise ReportInputError(
                f"as_of: no snapshot on {as_of}; snapshots exist for {', '.join(map(str, dates[-10:]))}"
            )
        earlier = [d for d in dates if as_of and d < as_of]
        date_from = self._date_param("from") or (earlier[-1] if earlier else None)
        return as_of, date_from

    def _date_param(self, name: str) -> date | None:
        raw = self.request.GET.get(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ReportInputError(f"{name}: not a date (YYYY-MM-DD): {raw!r}") from None

    def get_data(self) -> pd.DataFrame:
        as_of, _ = self._dates()
        if as_of is None:
            return pd.DataFrame(
                columns=["segment", "segment_label", "customers", "share", "monetary", "mean_spend", "mean_clv_12m"]
            )
        return svc.segment_summary(as_of=as_of)

    def get_summary(self, df: pd.DataFrame) -> dict:
        as_of, _ = self._dates()
        high = CustomerScore.objects.filter(churn_risk=CustomerScore.ChurnRisk.HIGH).count()
        return {
            "snapshot": as_of or "none yet (run train:customers)",
            "customers segmented": int(df["customers"].sum()) if len(df) else 0,
            "total spend": f"{df['monetary'].sum():,.2f}" if len(df) else "0",
            "customers at high churn risk": high,
        }

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        charts = [bar_chart(df, x="segment_label", y="customers", title="Customers per segment")]
        if len(df):
            charts.append(bar_chart(df, x="segment_label", y="monetary", title="Spend per segment"))
        history = svc.segment_history()
        if history["as_of"].nunique() > 1:
            wide = history.pivot(index="as_of", columns="segment", values="customers").fillna(0).reset_index()
            wide["as_of"] = pd.to_datetime(wide["as_of"])
            segments = [s for s in CustomerSegment.values if s in wide.columns]
            charts.append(line_chart(wide, x="as_of", y=segments, title="Segment sizes over time", ylabel="customers"))
        return charts

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        tables = [Table(title="Segments", data=df)]
        as_of, date_from = self._dates()
        if as_of and date_from:
            movement = svc.segment_movement(date_from=date_from, date_to=as_of)
            if len(movement):
                matrix = (
                    movement.pivot(index="from_segment", columns="to_segment", values="customers").fillna(0).astype(int)
                )
                tables.append(
                    Table(title=f"Movement {date_from} → {as_of} (rows: from, columns: to)", data=matrix.reset_index())
                )
        risk = pd.DataFrame(
            list(CustomerScore.objects.values("churn_risk").annotate(customers=Count("pk")).order_by("churn_risk"))
        )
        if len(risk):
            tables.append(Table(title="Churn-risk bands (current scores)", data=risk))
        return tables

"""A small framework for HTML report pages: a table of data, charts rendered offline, a CSV download.

Every report is a :class:`ReportView`: it says what data it shows (``get_data`` returns a pandas
DataFrame), which charts it draws from that data (``get_charts`` returns :class:`Chart` objects, rendered
by matplotlib's Agg backend into inline SVG, so nothing is fetched from a CDN) and which permission it
needs. ``?format=csv`` on any report downloads its DataFrame as CSV. Pages extend the admin look
(``templates/ecomops/report_base.html``) and are listed automatically on the reports index
(``/reports/``, linked from the admin), filtered by the permissions of the user looking.

Example, in ``inventory/views.py``::

    import pandas as pd
    from ecomops.reports import Chart, ReportView, bar_chart, line_chart

    from .selectors import stock_by_location


    class StockReport(ReportView):
        title = "Stock by location"
        description = "On-hand and reserved units per warehouse."
        permission_required = "inventory.view_stocklevel"
        section = "Inventory"

        def get_data(self) -> pd.DataFrame:
            return stock_by_location()  # columns: location, on_hand, reserved

        def get_charts(self, df: pd.DataFrame) -> list[Chart]:
            return [bar_chart(df, x="location", y=["on_hand", "reserved"], title="Units per location")]

and in ``inventory/urls.py`` (mounted under ``/reports/inventory/``)::

    urlpatterns = [path("stock/", StockReport.as_view(), name="stock")]

Hooks beyond the two above, all optional: ``get_tables(df)`` (titled tables shown below the charts;
default: the data itself, at most ``max_table_rows`` rows), ``get_summary(df)`` (a few headline
figures as ``{label: value}``), ``get_extra_context()``, ``csv_filename``. URL keyword arguments
(``self.kwargs``) and query parameters (``self.request.GET``) are available in every hook, so one report
class can serve a page per object (``path("models/<str:name>/", ModelReport.as_view())``). Reports whose
URL needs arguments are not listed on the index; link to them from a listed one.

Query parameters are user input: read them with ``self.param_int("days", 30, minimum=1, maximum=365)``,
``self.param_date("as_of")`` or ``self.param_choice("level", ["sku", "category"], "sku")``, or validate them
yourself and raise :class:`ReportInputError`; the page then shows the message with status 400 instead of
failing.

Building charts by hand: any function that draws on a matplotlib ``Figure`` can become a chart with
``Chart.from_figure(title, fig)``. Use ``new_figure()`` (never ``pyplot``: it is not thread-safe).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from django.contrib import admin
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.text import slugify
from django.views.generic import TemplateView
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MAX_POINTS_PER_SERIES = 5000


class ReportInputError(ValueError):
    """A bad query parameter: shown to the user with status 400."""


@dataclass(frozen=True)
class Chart:
    """One chart of a report, already rendered to an inline SVG document."""

    title: str
    svg: str
    caption: str = ""

    @classmethod
    def from_figure(cls, title: str, figure: Figure, *, caption: str = "") -> Chart:
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight")
        svg = buffer.getvalue()
        # Drop the XML prolog and doctype: the SVG is embedded in an HTML page.
        svg = svg[svg.index("<svg") :]
        # matplotlib's ids (clip paths, markers) are unique per figure only; prefix them per chart.
        prefix = "c" + slugify(title).replace("-", "")[:16] + str(abs(hash(svg)) % 100000)
        svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}\1"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", svg)
        svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{prefix}\1"', svg)
        return cls(title=title, svg=svg, caption=caption)


@dataclass(frozen=True)
class Table:
    """A titled table shown on a report page."""

    title: str
    data: pd.DataFrame
    caption: str = ""

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.data.columns]

    @property
    def rows(self) -> list[list[Any]]:
        return [[_display(v) for v in row] for row in self.data.itertuples(index=False, name=None)]


def _display(value: Any) -> Any:
    """Cells as shown: numbers rounded, NaN blank; ``format_html`` strings (links) pass through as HTML."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    return value


def new_figure(width: float = 8.0, height: float = 3.2) -> Figure:
    """A matplotlib Figure for the Agg backend, without pyplot's global state."""
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure


def line_chart(
    df: pd.DataFrame,
    *,
    x: str,
    y: str | Sequence[str],
    title: str,
    ylabel: str = "",
    caption: str = "",
    marker: str | None = "o",
) -> Chart:
    """Lines of the ``y`` column(s) against ``x`` (dates, numbers or categories in order)."""
    columns = [y] if isinstance(y, str) else list(y)
    figure = new_figure()
    axes = figure.add_subplot()
    data = df.sort_values(x) if len(df) else df
    for column in columns:
        series = data[[x, column]].dropna()
        if len(series) > MAX_POINTS_PER_SERIES:
            series = series.iloc[:: len(series) // MAX_POINTS_PER_SERIES + 1]
        axes.plot(series[x], series[column], marker=marker if len(series) <= 60 else None, label=column)
    if x in data and pd.api.types.is_integer_dtype(data[x]):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # version numbers, counts
    _finish(axes, xlabel=x, ylabel=ylabel, legend=len(columns) > 1, empty=data.empty)
    if x in data and pd.api.types.is_datetime64_any_dtype(data[x]):
        figure.autofmt_xdate()
    return Chart.from_figure(title, figure, caption=caption)


def bar_chart(
    df: pd.DataFrame,
    *,
    x: str,
    y: str | Sequence[str],
    title: str,
    ylabel: str = "",
    caption: str = "",
    horizontal: bool = False,
    limit: int = 40,
) -> Chart:
    """Bars of the ``y`` column(s) per ``x`` category (the first ``limit`` rows)."""
    columns = [y] if isinstance(y, str) else list(y)
    data = df.head(limit)
    height = max(3.2, 0.28 * len(data) + 1) if horizontal else 3.2
    figure = new_figure(height=height)
    axes = figure.add_subplot()
    labels = [str(v) for v in data[x]]
    positions = range(len(labels))
    width = 0.8 / max(len(columns), 1)
    for index, column in enumerate(columns):
        offsets = [p + (index - (len(columns) - 1) / 2) * width for p in positions]
        if horizontal:
            axes.barh(offsets, data[column].astype(float), height=width, label=column)
        else:
            axes.bar(offsets, data[column].astype(float), width=width, label=column)
    if horizontal:
        axes.set_yticks(list(positions), labels)
        axes.invert_yaxis()
    else:
        axes.set_xticks(list(positions), labels, rotation=45 if len(labels) > 8 else 0, ha="right")
    _finish(axes, xlabel="" if horizontal else x, ylabel=ylabel, legend=len(columns) > 1, empty=data.empty)
    return Chart.from_figure(title, figure, caption=caption)


def histogram_chart(
    values: Iterable[float], *, title: str, xlabel: str = "", bins: int = 30, caption: str = ""
) -> Chart:
    """Distribution of ``values``."""
    series = pd.Series(list(values), dtype=float).dropna()
    figure = new_figure()
    axes = figure.add_subplot()
    if len(series):
        axes.hist(series, bins=bins)
    _finish(axes, xlabel=xlabel, ylabel="count", legend=False, empty=series.empty)
    return Chart.from_figure(title, figure, caption=caption)


def _finish(axes, *, xlabel: str, ylabel: str, legend: bool, empty: bool) -> None:
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if legend:
        axes.legend(loc="best", fontsize="small")
    if empty:
        axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes, color="grey")


class ReportView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Base class of every HTML report: subclass, set ``title`` and ``permission_required``, fill the hooks."""

    title: str = ""
    description: str = ""
    section: str = "Reports"
    permission_required: str | Sequence[str] = ()
    template_name = "ecomops/report_base.html"
    max_table_rows = 200
    csv_filename: str = ""
    raise_exception = False  # anonymous -> login page; logged in without permission -> 403

    # --- hooks -------------------------------------------------------------------------------------------
    def get_data(self) -> pd.DataFrame:
        """The report's data; also what ``?format=csv`` downloads."""
        return pd.DataFrame()

    def get_charts(self, df: pd.DataFrame) -> list[Chart]:
        return []

    def get_tables(self, df: pd.DataFrame) -> list[Table]:
        return [Table(title="Data", data=df.head(self.max_table_rows))] if not df.empty else []

    def get_summary(self, df: pd.DataFrame) -> dict[str, Any]:
        return {}

    def get_extra_context(self) -> dict[str, Any]:
        return {}

    def get_title(self) -> str:
        return self.title

    # --- query parameters, checked (a bad value is a 400 page naming the parameter) -----------------------
    def param_int(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.request.GET.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ReportInputError(f"{name} must be a whole number, not {raw!r}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ReportInputError(f"{name} must be between {minimum} and {maximum}, not {value}")
        return value

    def param_date(self, name: str, default: date | None = None) -> date | None:
        raw = self.request.GET.get(name, "")
        if raw == "":
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ReportInputError(f"{name} must be a date as YYYY-MM-DD, not {raw!r}") from None

    def param_choice(self, name: str, choices: Sequence[str], default: str) -> str:
        raw = self.request.GET.get(name, "") or default
        if raw not in choices:
            raise ReportInputError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
        return raw

    # --- machinery ---------------------------------------------------------------------------------------
    def get_permission_required(self):
        if isinstance(self.permission_required, str):
            return (self.permission_required,)
        return tuple(self.permission_required)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            df = self.get_data()
            if request.GET.get("format") == "csv":
                return self._csv_response(df)
            context = self.get_context_data(df=df, **kwargs)
        except ReportInputError as exc:
            context = {**self._base_context(), "input_error": str(exc)}
            return self.render_to_response(context, status=400)
        return self.render_to_response(context)

    def _csv_response(self, df: pd.DataFrame) -> HttpResponse:
        name = self.csv_filename or slugify(self.get_title()) or "report"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        df.to_csv(response, index=False)
        return response

    def _base_context(self) -> dict[str, Any]:
        query = self.request.GET.copy()
        query["format"] = "csv"
        try:
            title = self.get_title()
        except ReportInputError:
            title = self.title
        return {
            **admin.site.each_context(self.request),
            "view": self,
            "title": title,
            "description": self.description,
            "section": self.section,
            "csv_url": f"{self.request.path}?{query.urlencode()}",
            "reports_index_url": reverse("reports_index"),
        }

    def get_context_data(self, *, df: pd.DataFrame, **kwargs) -> dict[str, Any]:
        return {
            **self._base_context(),
            "charts": self.get_charts(df),
            "tables": self.get_tables(df),
            "summary": self.get_summary(df),
            "row_count": len(df),
            **self.get_extra_context(),
        }


@dataclass(frozen=True)
class ReportLink:
    """One entry of the reports index."""

    section: str
    title: str
    description: str
    url: str


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            child_ns = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), child_ns or namespace)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if (
                view_class is not None
                and issubclass(view_class, ReportView)
                and not getattr(pattern.pattern, "converters", None)
            ):
                yield view_class, "/" + prefix + str(pattern.pattern)


def reports_available(*, user) -> list[ReportLink]:
    """Every report mounted in the URLconf (without URL arguments) that ``user`` may see, by section."""
    links = []
    for view_class, route in _walk(get_resolver().url_patterns):
        if "<" in route or "(" in route or "^" in route:
            continue
        required = view_class.permission_required
        required = (required,) if isinstance(required, str) else tuple(required)
        if not user.has_perms(required):
            continue
        links.append(
            ReportLink(
                section=view_class.section, title=view_class.title, description=view_class.description, url=route
            )
        )
    return sorted(links, key=lambda link: (link.section != "Platform", link.section, link.title))


class ReportsIndexView(LoginRequiredMixin, TemplateView):
    """Lists every report the user may open, grouped by section."""

    template_name = "ecomops/reports_index.html"

    def get_context_data(self, **kwargs):
        sections: dict[str, list[ReportLink]] = {}
        for link in reports_available(user=self.request.user):
            sections.setdefault(link.section, []).append(link)
        return {**admin.site.each_context(self.request), "title": "Reports", "sections": sections}

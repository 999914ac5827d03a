"""HTML reports of every app, behind login, under /reports/ (the index lists those a user may open)."""

from django.urls import include, path

from .reports import ReportsIndexView

urlpatterns: list = [
    path("", ReportsIndexView.as_view(), name="reports_index"),
    path("platform/", include("ecomops.report_pages")),
    path("catalog/", include("catalog.urls")),
    path("orders/", include("orders.urls")),
    path("inventory/", include("inventory.urls")),
    path("pricing/", include("pricing.urls")),
    path("logistics/", include("logistics.urls")),
    path("feedback/", include("feedback.urls")),
]

"""HTML report pages of inventory (mounted under /reports/inventory/)."""

from django.urls import path

from . import views

app_name = "inventory_reports"
urlpatterns: list = [
    path("replenishment/", views.ReplenishmentReport.as_view(), name="replenishment"),
    path("replenishment/forecast/", views.ForecastReport.as_view(), name="forecast"),
]

"""HTML report pages of inventory (mounted under /reports/inventory/)."""

from django.urls import path  # noqa: F401

app_name = "inventory_reports"
urlpatterns: list = []

"""HTML report pages of orders (mounted under /reports/orders/)."""

from django.urls import path  # noqa: F401

app_name = "orders_reports"
urlpatterns: list = []

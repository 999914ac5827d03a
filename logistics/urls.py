"""HTML report pages of logistics (mounted under /reports/logistics/)."""

from django.urls import path  # noqa: F401

app_name = "logistics_reports"
urlpatterns: list = []

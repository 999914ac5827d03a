"""HTML report pages of pricing (mounted under /reports/pricing/)."""

from django.urls import path  # noqa: F401

app_name = "pricing_reports"
urlpatterns: list = []

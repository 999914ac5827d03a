"""HTML report pages of catalog (mounted under /reports/catalog/)."""

from django.urls import path  # noqa: F401

app_name = "catalog_reports"
urlpatterns: list = []

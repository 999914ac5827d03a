"""HTML report pages of catalog (mounted under /reports/catalog/)."""

from django.urls import path

from . import views

app_name = "catalog_reports"
urlpatterns: list = [
    path("customers/", views.CustomersReport.as_view(), name="customers"),
]

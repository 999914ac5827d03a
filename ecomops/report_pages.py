"""Report pages of the platform (mounted under /reports/platform/)."""

from django.urls import path

from .views import JobHealthReport, ModelRegistryReport, ModelReport

app_name = "ecomops_reports"
urlpatterns = [
    path("models/", ModelRegistryReport.as_view(), name="models"),
    path("models/<str:name>/", ModelReport.as_view(), name="model"),
    path("jobs/", JobHealthReport.as_view(), name="jobs"),
]

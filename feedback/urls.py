"""HTML report pages of feedback (mounted under /reports/feedback/)."""

from django.urls import path  # noqa: F401

app_name = "feedback_reports"
urlpatterns: list = []

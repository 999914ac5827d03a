"""HTML report pages of feedback (mounted under /reports/feedback/)."""

from django.urls import path

from . import views

app_name = "feedback_reports"
urlpatterns: list = [
    path("trends/", views.FeedbackTrendsReport.as_view(), name="trends"),
    path("queue/", views.QueueHealthReport.as_view(), name="queue"),
    path("suspicious/", views.SuspiciousReviewsReport.as_view(), name="suspicious"),
]

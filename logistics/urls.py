"""HTML report pages of logistics (mounted under /reports/logistics/)."""

from django.urls import path

from . import views

app_name = "logistics_reports"
urlpatterns: list = [
    path("carrier-performance/", views.CarrierPerformanceReport.as_view(), name="carrier_performance"),
    path("handling-times/", views.HandlingTimeReport.as_view(), name="handling_times"),
    path("likely-late/", views.LikelyLateReport.as_view(), name="likely_late"),
    path("route-plans/<int:pk>/", views.RoutePlanReport.as_view(), name="route_plan"),
]

"""HTML report pages of pricing (mounted under /reports/pricing/)."""

from django.urls import path

from . import views

app_name = "pricing_reports"
urlpatterns = [
    path("elasticities/", views.ElasticityReport.as_view(), name="elasticities"),
    path("competitors/", views.CompetitorPositionReport.as_view(), name="competitors"),
    path("recommendations/", views.RecommendationReport.as_view(), name="recommendations"),
    path("realised/", views.RealisedReport.as_view(), name="realised"),
]

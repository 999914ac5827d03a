"""URL configuration: admin, the REST API under /api/v1/, its schema and docs, HTML reports."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

api_v1 = [
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("logistics.api.urls")),
    path("", include("feedback.api.urls")),
    path("", include("ecomops.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Both pages without inline script the Content-Security-Policy would block: Swagger UI loads its set-up
    # script from ?script, ReDoc's page carries the CSP nonce (access/templates/access/redoc.html).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="access/redoc.html"),
        name="redoc",
    ),
    path("reports/", include("ecomops.reports_urls")),
]

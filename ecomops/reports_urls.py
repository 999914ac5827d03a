"""HTML reports of every app, behind login, under /reports/."""

from django.urls import include, path

urlpatterns: list = [
    path("catalog/", include("catalog.urls")),
    path("orders/", include("orders.urls")),
    path("inventory/", include("inventory.urls")),
    path("pricing/", include("pricing.urls")),
    path("logistics/", include("logistics.urls")),
    path("feedback/", include("feedback.urls")),
]

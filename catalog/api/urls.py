from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views, views_customers

router = DefaultRouter()
router.register("categories", views.CategoryViewSet)
router.register("sellers", views.SellerViewSet)
router.register("products", views.ProductViewSet)
router.register("customers", views.CustomerViewSet)
router.register("audiences", views_customers.AudienceViewSet)

urlpatterns = router.urls + [
    path(
        "customers/<int:pk>/recommendations/",
        views_customers.CustomerRecommendationsView.as_view(),
        name="customer-recommendations",
    ),
    path("customers/<int:pk>/analytics/", views_customers.CustomerAnalyticsView.as_view(), name="customer-analytics"),
    path(
        "products/<int:pk>/bought-together/",
        views_customers.ProductBoughtTogetherView.as_view(),
        name="product-bought-together",
    ),
    path(
        "customer-analytics/train/",
        views_customers.CustomerAnalyticsTrainView.as_view(),
        name="customer-analytics-train",
    ),
]

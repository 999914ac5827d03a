from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("categories", views.CategoryViewSet)
router.register("sellers", views.SellerViewSet)
router.register("products", views.ProductViewSet)
router.register("customers", views.CustomerViewSet)

urlpatterns = router.urls

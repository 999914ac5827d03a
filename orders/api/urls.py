from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("orders", views.OrderViewSet)
router.register("order-lines", views.OrderLineViewSet)
router.register("payments", views.PaymentViewSet)

urlpatterns = router.urls

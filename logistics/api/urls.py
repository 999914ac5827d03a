from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("carriers", views.CarrierViewSet)
router.register("zip-areas", views.ZipAreaViewSet)
router.register("shipments", views.ShipmentViewSet)
router.register("tracking-events", views.TrackingEventViewSet)
router.register("delivery-predictions", views.DeliveryPredictionViewSet)
router.register("order-risks", views.OrderRiskViewSet)
router.register("route-plans", views.RoutePlanViewSet)

urlpatterns = router.urls

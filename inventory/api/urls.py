from rest_framework.routers import DefaultRouter

from . import views, views_forecast

router = DefaultRouter()
router.register("locations", views.LocationViewSet)
router.register("stock-levels", views.StockLevelViewSet)
router.register("stock-movements", views.StockMovementViewSet)
router.register("suppliers", views.SupplierViewSet)
router.register("supplier-products", views.SupplierProductViewSet)
router.register("purchase-orders", views.PurchaseOrderViewSet)
router.register("purchase-order-lines", views.PurchaseOrderLineViewSet)
router.register("sales-observations", views.SalesObservationViewSet)
router.register("allocations", views.AllocationViewSet)
router.register("service-level-targets", views.ServiceLevelTargetViewSet)
router.register("forecasts", views_forecast.ForecastViewSet, basename="forecast")
router.register("replenishment", views_forecast.ReplenishmentViewSet, basename="replenishment")

urlpatterns = router.urls

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("pricing/prices", views.PriceHistoryViewSet, basename="pricing-price")
router.register("pricing/promotions", views.PromotionViewSet, basename="pricing-promotion")
router.register("pricing/competitor-prices", views.CompetitorPriceViewSet, basename="pricing-competitor-price")
router.register("pricing/elasticities", views.ElasticityEstimateViewSet, basename="pricing-elasticity")
router.register("pricing/recommendations", views.PriceRecommendationViewSet, basename="pricing-recommendation")
router.register("pricing/rules", views.PricingRuleViewSet, basename="pricing-rule")
router.register("pricing/competitor-alerts", views.CompetitorPriceAlertViewSet, basename="pricing-competitor-alert")
router.register("pricing/audit", views.PriceChangeAuditViewSet, basename="pricing-audit")

urlpatterns = router.urls

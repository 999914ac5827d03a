from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("reviews", views.ReviewViewSet)
router.register("feedback/queue", views.QueueItemViewSet, basename="feedback-queue")
router.register("feedback/reply-templates", views.ReplyTemplateViewSet)
router.register("feedback/topic-keywords", views.TopicKeywordViewSet)

urlpatterns = router.urls + [
    path("feedback/analyze/", views.AnalyzeView.as_view(), name="feedback-analyze"),
]

"""Platform API routes: the token endpoint (``POST /api/v1/auth/token/`` with username and password)."""

from django.urls import path
from rest_framework import exceptions
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from . import schema  # noqa: F401 - registers the OpenAPI authentication extensions
from .views import JobRunViewSet, ModelVersionViewSet, RegisteredModelViewSet


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token."""

    # No model behind it: anyone may try, the throttles and lockout guard it.
    permission_classes = ()

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            # django-axes marks the DRF request (its middleware only sees Django's): answer 429, not 400.
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(detail="too many failed logins for this username from this address")
            raise


router = DefaultRouter()
router.register("jobs", JobRunViewSet, basename="jobrun")
router.register("models", RegisteredModelViewSet, basename="registeredmodel")
router.register("model-versions", ModelVersionViewSet, basename="modelversion")

urlpatterns = router.urls + [path("auth/token/", TokenView.as_view(), name="api-token")]

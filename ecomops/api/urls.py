"""Platform API routes: the token endpoint (``POST /api/v1/auth/token/`` with username and password)."""

from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token."""

    # No model behind it: anyone may try, the throttles and lockout guard it.
    permission_classes = ()


router = DefaultRouter()

urlpatterns = router.urls + [path("auth/token/", TokenView.as_view(), name="api-token")]

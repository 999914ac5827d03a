"""OpenAPI extensions: how the schema describes our authentication classes.

Imported by ``ecomops/api/urls.py`` so it is registered whenever the URLconf (and so the schema) loads.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """``Authorization: Api-Key <prefix>.<secret>`` (access.authentication.APIKeyAuthentication)."""

    target_class = "access.authentication.APIKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An integration key: `Api-Key <prefix>.<secret>`.",
        }

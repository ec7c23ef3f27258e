"""OpenAPI description of the /v1 key authentication (drf-spectacular)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer opk_live_…` in the schema's security schemes."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "OpenProviderApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "opk_live_…",
            "description": "An OpenProvider API key, created in Account → API keys.",
        }

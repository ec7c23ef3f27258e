"""GET /v1/files/images/<name>: generated images, public by unguessable name until they expire."""

import math

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from gateway.api.errors import ApiError
from gateway.media.images import generated_image_get


class GeneratedImageViewSet(viewsets.ViewSet):
    """One live generated image; no key needed (the name is the secret, like OpenAI's URLs)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    lookup_field = "name"

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY}, auth=[])
    def retrieve(self, request: Request, name: str) -> FileResponse:
        image = generated_image_get(name)
        if image is None or not default_storage.exists(image.path):
            raise ApiError("No such image, or it has expired.", status=404, code="image_not_found")
        remaining = max(math.ceil((image.expires_at - timezone.now()).total_seconds()), 0)
        response = FileResponse(
            default_storage.open(image.path, "rb"), content_type=image.content_type
        )
        response["Content-Disposition"] = f'inline; filename="{image.name}"'
        response["Cache-Control"] = f"public, max-age={remaining}, immutable"
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

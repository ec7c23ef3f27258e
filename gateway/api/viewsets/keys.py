from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import key_of


class KeyViewSet(viewsets.ViewSet):
    """GET /v1/key: the calling key's name, prefix, workspace, dates and limits."""

    @extend_schema(
        responses=inline_serializer(
            "KeyInfo",
            {
                "name": serializers.CharField(),
                "prefix": serializers.CharField(),
                "workspace": serializers.DictField(),
                "created": serializers.IntegerField(),
                "last_used": serializers.IntegerField(allow_null=True),
                "limits": serializers.DictField(),
            },
        )
    )
    def show(self, request: Request) -> Response:
        key = key_of(request)
        return Response(
            {
                "object": "api_key",
                "name": key.name,
                "prefix": key.prefix,
                "workspace": {"id": key.workspace_id, "name": key.workspace.name},
                "created": int(key.created_at.timestamp()),
                "last_used": int(key.last_used_at.timestamp()) if key.last_used_at else None,
                "limits": {
                    "requests_per_minute": key.requests_per_minute,
                    "requests_per_day": key.requests_per_day,
                },
            }
        )

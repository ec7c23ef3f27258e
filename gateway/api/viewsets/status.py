"""GET /v1/providers/status: the calling workspace's provider credentials and their health."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace
from catalog.selectors import provider_status


class ProviderStatusViewSet(viewsets.ViewSet):
    """State, last check, sync health and model counts of each credential; never another
    workspace's errors, never a key."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def show(self, request: Request) -> Response:
        return Response(provider_status(workspace_id=caller_workspace(request).pk))

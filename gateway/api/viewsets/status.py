"""GET /v1/providers/status: the calling workspace's provider credentials and their health."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace
from catalog.selectors import provider_status
from gateway.routing.quota_view import status_with_quotas


class ProviderStatusViewSet(viewsets.ViewSet):
    """State, last check, sync health, model counts, limits and each model's live quota (as in
    /v1/models) of each credential; never another workspace's errors, never a key."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def show(self, request: Request) -> Response:
        workspace = caller_workspace(request)
        status = provider_status(workspace_id=workspace.pk)
        return Response(status_with_quotas(status, workspace))

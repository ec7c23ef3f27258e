"""/v1/responses: create (streamed or not), retrieve, delete and list a response's input items."""

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace
from gateway.api.responses_request import ResponsesRequestInput
from gateway.api.viewsets.limited import RateLimitedViewSet, streamed_or_complete
from gateway.responses.service import response_create, response_stream
from gateway.responses.store import (
    input_items_page,
    stored_response_delete,
    stored_response_get,
)


class ResponseViewSet(RateLimitedViewSet):
    """OpenAI's Responses API, translated onto chat completions; stored responses are scoped
    to the caller's workspace (another workspace's id is not found)."""

    lookup_field = "response_id"
    lookup_value_converter = "str"

    @extend_schema(request=ResponsesRequestInput, responses={200: dict})
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        return streamed_or_complete(request, complete=response_create, stream=response_stream)

    @extend_schema(responses={200: dict})
    def retrieve(self, request: Request, response_id: str) -> Response:
        stored = stored_response_get(workspace=caller_workspace(request), response_id=response_id)
        return Response(stored.body)

    @extend_schema(responses={200: dict})
    def destroy(self, request: Request, response_id: str) -> Response:
        stored_response_delete(workspace=caller_workspace(request), response_id=response_id)
        return Response({"id": response_id, "object": "response.deleted", "deleted": True})

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
            OpenApiParameter("order", str, enum=["asc", "desc"], description="Default desc."),
            OpenApiParameter("after", str, description="An item id to list items after."),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"], url_path="input_items")
    def input_items(self, request: Request, response_id: str) -> Response:
        stored = stored_response_get(workspace=caller_workspace(request), response_id=response_id)
        params = request.query_params
        page = input_items_page(
            stored,
            after=params.get("after"),
            limit=params.get("limit"),
            order=params.get("order"),
        )
        return Response(page)

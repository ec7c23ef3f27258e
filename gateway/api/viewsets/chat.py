"""POST /v1/chat/completions, POST /v1/completions and GET /v1/generation: thin viewsets over
the gateway services."""

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace
from gateway.api.chat_request import ChatRequestInput
from gateway.api.completion_request import CompletionRequestInput
from gateway.api.errors import ApiError
from gateway.api.route_responses import COMPLETION_RESPONSE
from gateway.api.viewsets.limited import RateLimitedViewSet, streamed_or_complete
from gateway.chat.completions import COMPLETIONS
from gateway.chat.service import CHAT, chat_complete, chat_stream
from gateway.requestlog.services import request_log_as_dict, request_log_get


class ChatCompletionViewSet(RateLimitedViewSet):
    """The OpenAI chat completions endpoint, streamed (SSE) or not."""

    dialect = CHAT

    @extend_schema(request=ChatRequestInput, responses={200: dict})
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        return streamed_or_complete(
            request, complete=chat_complete, stream=chat_stream, dialect=self.dialect
        )


class CompletionViewSet(ChatCompletionViewSet):
    """The legacy OpenAI completions endpoint (prompt -> text), served by the chat workflow:
    `text_completion` objects, streamed as `text_completion` chunks (SSE)."""

    dialect = COMPLETIONS

    @extend_schema(
        request=CompletionRequestInput,
        responses={200: COMPLETION_RESPONSE},
        description="Legacy completions: the prompt is sent to a chat model as one user "
        "message; `echo`, `suffix`, `best_of` > 1, `logprobs` and token-array prompts are "
        "refused (400 unsupported_parameter).",
    )
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)


class GenerationViewSet(viewsets.ViewSet):
    """One request-log row of the caller's workspace, by its gen-… id."""

    @extend_schema(parameters=[OpenApiParameter("id", str, required=True)], responses={200: dict})
    def show(self, request: Request) -> Response:
        request_id = request.query_params.get("id", "")
        if not request_id:
            raise ApiError("Invalid 'id': a generation id is required.", param="id")
        log = request_log_get(workspace=caller_workspace(request), request_id=request_id)
        if log is None:
            raise ApiError(
                f"No generation '{request_id}' in this workspace.",
                status=404,
                code="generation_not_found",
                param="id",
            )
        return Response({"data": request_log_as_dict(log)})

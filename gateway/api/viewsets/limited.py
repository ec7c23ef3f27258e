"""The base of every rate-limited /v1 workflow viewset (chat, images, speech)."""

from collections.abc import Callable
from typing import Any

from django.http import HttpResponseBase, StreamingHttpResponse
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace, key_of
from gateway.api.errors import ApiError
from gateway.api.parsers import SafeJSONParser
from gateway.routing.ratelimit import rate_limit_api_key


class RateLimitedViewSet(viewsets.ViewSet):
    """Counts the key's rate limit first and puts its headers on every answer.

    A refused request costs no DB write (no log row). Subclasses answer in `respond`.
    """

    parser_classes = [SafeJSONParser]

    def create(self, request: Request) -> HttpResponseBase:
        limit = rate_limit_api_key(key_of(request))
        try:
            response = self.respond(request)
        except ApiError as error:
            error.headers = {**limit.headers(), **error.headers}
            raise
        for name, value in limit.headers().items():
            response[name] = value
        return response

    def respond(self, request: Request) -> HttpResponseBase:
        raise NotImplementedError


def streamed_or_complete(
    request: Request, *, complete: Callable[..., Any], stream: Callable[..., Any], **extra: Any
) -> HttpResponseBase:
    """The service's answer to the request: `stream(...)` relayed as SSE when the body asks
    for a stream, else `complete(...)` as JSON; with the headers the service set."""
    payload = request.data
    call = {
        "workspace": caller_workspace(request),
        "api_key": key_of(request),
        "request_id": request.request_id,  # type: ignore[attr-defined]  # RequestIdMiddleware
        "payload": payload,
        **extra,
    }
    if isinstance(payload, dict) and payload.get("stream") is True:
        streamed = stream(**call)
        response: HttpResponseBase = StreamingHttpResponse(streamed)
        served = streamed.headers
    else:
        result = complete(**call)
        response, served = Response(result.body), result.headers
    for name, value in served.items():
        response[name] = value
    return response

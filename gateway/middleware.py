import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import (
    api_error_for_exception,
    error_response,
    is_api_path,
    request_too_large_error,
)
from .logging import current_request_id

from .metrics import current_route, route_kind

def new_request_id() -> str:
    return "gen-" + secrets.token_urlsafe(18)


class RequestIdMiddleware:
    """Gives each request a `gen-…` id, used by logs, the request log and `x-request-id`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = new_request_id()
        # Left set after the response, so Django's own request log lines carry the id too.
        current_request_id.set(request.request_id)
        response = self.get_response(request)
        current_route.set(route_kind(request.path))
        response.setdefault("x-request-id", request.request_id)
        return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ApiErrorMiddleware:
    """Under /v1: a 413 envelope for oversized bodies, an envelope for any uncaught error.

    DRF parses request.data straight from the stream, bypassing Django's body size check, so
    the declared Content-Length is checked here before any view runs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if is_api_path(request.path) and limit is not None and _declared_length(request) > limit:
            return error_response(request_too_large_error())
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        # Known errors (RequestDataTooBig included) keep their status; the rest are a logged 500.
        return error_response(api_error_for_exception(exception))

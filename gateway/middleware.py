import io
import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .errors import (
    ApiError,
    api_error_for_exception,
    body_limit,
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
        current_route.set(route_kind(request.path))
        response = self.get_response(request)
        response.setdefault("x-request-id", request.request_id)
        return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


def _is_chunked(request: HttpRequest) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in encoding.lower() and not request.META.get("CONTENT_LENGTH")


def _buffer_chunked_body(request: HttpRequest, limit: int) -> bool:
    """Read a chunked body (no Content-Length) up to `limit` bytes; False if it is longer.

    Django reads CONTENT_LENGTH bytes and would see such a body as empty; gunicorn hands the
    de-chunked stream over as wsgi.input, so it is read here with a cap and given a length.
    """
    source = request.META.get("wsgi.input")
    if source is None:
        return True
    body = bytearray()
    while len(body) <= limit:
        piece = source.read(min(64 * 1024, limit + 1 - len(body)))
        if not piece:
            break
        body += piece
    if len(body) > limit:
        return False
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = io.BytesIO(bytes(body))
    return True


class ApiErrorMiddleware:
    """Under /v1: a 413 envelope for oversized bodies, an envelope for any uncaught error.

    DRF parses request.data straight from the stream, bypassing Django's body size check, so
    the declared Content-Length is checked here before any view runs, against the route's cap
    (gateway.errors.body_limit); a chunked body without a length is read here with that cap.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path):
            if _has_nul(request):  # PostgreSQL text cannot hold NUL: refused before any lookup
                return error_response(
                    ApiError("The URL must not contain NUL characters.", code="invalid_request")
                )
            limit = body_limit(request.path)
            if limit is not None and (
                _declared_length(request) > limit
                or (_is_chunked(request) and not _buffer_chunked_body(request, limit))
            ):
                return error_response(request_too_large_error(request.path))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        # Known errors (RequestDataTooBig included) keep their status; the rest are a logged 500.
        return error_response(api_error_for_exception(exception))

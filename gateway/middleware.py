import io
import secrets
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from config.infra.logfilters import current_request_id

from .errors import (
    ApiError,
    api_error_for_exception,
    body_limit,
    error_response,
    is_api_path,
    request_too_large_error,
)
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


class WebOnlyMixin:
    """Runs the middleware for web pages only; /v1 requests go straight to the next one.

    /v1 is a JSON API authenticated by bearer keys: it reads no session, user or messages, its
    views are CSRF-exempt and a CSP means nothing to a JSON body. Skipping that work saves
    ~0.2 ms per request (bench/README.md, "Gateway"). SecurityMiddleware (nosniff, HSTS,
    referrer and opener policies) and X-Frame-Options still run for /v1. Subclasses keep the
    original classes, so Django's checks (admin) still find them.
    """

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class WebOnlyCSPMiddleware(WebOnlyMixin, CSPMiddleware):
    pass


class WebOnlySessionMiddleware(WebOnlyMixin, SessionMiddleware):
    pass


class WebOnlyCsrfViewMiddleware(WebOnlyMixin, CsrfViewMiddleware):
    def process_view(self, request: HttpRequest, *args: Any) -> HttpResponse | None:
        if is_api_path(request.path_info):
            return None
        return super().process_view(request, *args)


class WebOnlyAuthenticationMiddleware(WebOnlyMixin, AuthenticationMiddleware):
    pass


class WebOnlyMessageMiddleware(WebOnlyMixin, MessageMiddleware):
    pass

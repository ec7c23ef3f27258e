import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.deprecation import MiddlewareMixin

from config.infra.logfilters import current_request_id

from .api.errors import (
    ApiError,
    api_error_for_exception,
    body_limit,
    error_response,
    is_api_path,
    request_too_large_error,
)
from .inflight import inflight_acquire_for
from .metrics import current_route, route_kind
from .request_body import declared_length, request_body_read


def new_request_id() -> str:
    return "gen-" + secrets.token_urlsafe(18)


class RequestIdMiddleware:
    """Gives each request a `gen-…` id, used by logs, the request log and `x-request-id`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]  # read by views and logs
        # Left set after the response, so Django's own request log lines carry the id too.
        current_request_id.set(request_id)
        current_route.set(route_kind(request.path))
        response = self.get_response(request)
        response.setdefault("x-request-id", request_id)
        return response


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


class ApiErrorMiddleware:
    """Under /v1: the body read whole first, in-flight bounds, envelopes for every error.

    Before anything touches the database or the cache for authentication, a /v1 request takes
    an in-flight slot (gateway/inflight.py) and its body is read completely under
    REQUEST_BODY_TIMEOUT_SECONDS and the route's size cap (gateway/request_body.py; DRF parses
    request.data straight from the stream, bypassing Django's own size check). The slot is given
    back when the response is closed, however the request ends.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        if _has_nul(request):  # PostgreSQL text cannot hold NUL: refused before any lookup
            return error_response(
                ApiError("The URL must not contain NUL characters.", code="invalid_request")
            )
        limit = body_limit(request.path)
        if limit is not None and declared_length(request.META) > limit:
            return error_response(request_too_large_error(request.path))
        try:
            release = inflight_acquire_for(request.META)
        except ApiError as error:
            return error_response(error)
        try:
            response = self._respond(request, limit)
        except BaseException:
            release()
            raise
        response._resource_closers.append(release)  # type: ignore[attr-defined]  # Django private
        return response

    def _respond(self, request: HttpRequest, limit: int | None) -> HttpResponse:
        try:
            if not request_body_read(request, limit=sys.maxsize if limit is None else limit):
                return error_response(request_too_large_error(request.path))
        except ApiError as error:
            return error_response(error)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        # Known errors (RequestDataTooBig included) keep their status; the rest are a logged 500.
        return error_response(api_error_for_exception(exception), request)


class WebOnlyMixin(MiddlewareMixin):
    """Runs the middleware for web pages only; /v1 requests go straight to the next one.

    /v1 is a JSON API authenticated by bearer keys: it reads no session, user or messages, its
    views are CSRF-exempt and a CSP means nothing to a JSON body. Skipping that work saves
    ~0.2 ms per request (bench/README.md, "Gateway"). SecurityMiddleware (nosniff, HSTS,
    referrer and opener policies) and X-Frame-Options still run for /v1. Subclasses keep the
    original classes, so Django's checks (admin) still find them.
    """

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if is_api_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class WebOnlyCSPMiddleware(WebOnlyMixin, CSPMiddleware):
    pass


class WebOnlySessionMiddleware(WebOnlyMixin, SessionMiddleware):
    pass


class WebOnlyCsrfViewMiddleware(WebOnlyMixin, CsrfViewMiddleware):
    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., HttpResponseBase],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponseForbidden | None:
        if is_api_path(request.path_info):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class WebOnlyAuthenticationMiddleware(WebOnlyMixin, AuthenticationMiddleware):
    pass


class WebOnlyMessageMiddleware(WebOnlyMixin, MessageMiddleware):
    pass

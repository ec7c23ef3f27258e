"""Django's 400/403/404/500 handlers: the /v1 envelope under /v1, HTML pages elsewhere."""

import sys

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from gateway.api.errors import (
    ApiError,
    error_response,
    is_api_path,
    known_api_error,
    request_too_large_error,
)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(
            ApiError(
                f"Unknown route: {request.method} {request.path}", status=404, code="unknown_route"
            )
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Under /v1, an error raised outside a view (a middleware reading the body) that is the
    client's keeps its status (e.g. a malformed chunked body is a 400); anything else is a 500."""
    if is_api_path(request.path):
        known = known_api_error(sys.exc_info()[1])  # Django calls this inside its except block
        return error_response(
            known
            or ApiError(
                "The server had an error processing the request.", status=500, code="server_error"
            )
        )
    return defaults.server_error(request)


@csrf_exempt
def unknown_route(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """The last /v1 pattern: any other path is a 404 envelope, whatever the method."""
    return error_response(
        ApiError(
            f"Unknown route: {request.method} {request.path}", status=404, code="unknown_route"
        )
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400 (SuspiciousOperation, bad Host, body too big outside DRF)."""
    if is_api_path(request.path):
        if isinstance(exception, RequestDataTooBig):
            return error_response(request_too_large_error(request.path))
        return error_response(
            ApiError("The request was refused.", status=400, code="invalid_request")
        )
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(ApiError("Permission denied.", status=403, code="permission_denied"))
    return defaults.permission_denied(request, exception)

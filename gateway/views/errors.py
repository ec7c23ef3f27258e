"""Django's 404/500 handlers: the /v1 envelope under /v1, HTML pages elsewhere."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from gateway.errors import ApiError, error_response, is_api_path


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(
            ApiError(
                f"Unknown route: {request.method} {request.path}", status=404, code="unknown_route"
            )
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(
            ApiError(
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

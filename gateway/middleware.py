import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .logging import current_request_id


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
        response.setdefault("x-request-id", request.request_id)
        return response

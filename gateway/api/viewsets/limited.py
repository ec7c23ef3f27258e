"""The base of every rate-limited /v1 workflow viewset (chat, images, speech)."""

from django.http import HttpResponseBase
from rest_framework import viewsets
from rest_framework.request import Request

from accounts.authentication import key_of
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

"""POST /v1/images/generations, /v1/images/analyze and /v1/audio/speech: thin views."""

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse, HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace, key_of
from gateway.errors import ApiError
from gateway.media.images import CappedUploadHandler
from gateway.media.service import Caller, MediaResult, image_analyze, images_generate, speech_create
from gateway.parsers import SafeJSONParser, check_storable
from gateway.views.limited import RateLimitedView


def caller_of(request: Request) -> Caller:
    request_id: str = request.request_id  # type: ignore[attr-defined]  # RequestIdMiddleware's
    return Caller(
        workspace=caller_workspace(request), api_key=key_of(request), request_id=request_id
    )


class JsonWhateverAccepted(DefaultContentNegotiation):
    """Audio and image answers, JSON errors, whatever Accept says (SDKs send octet-stream)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _MediaView(RateLimitedView):
    """A media workflow: its service result becomes a JSON answer with the served headers."""

    @staticmethod
    def json(result: MediaResult) -> Response:
        return Response(result.body, headers=result.headers)


class ImageGenerationsView(_MediaView):
    """OpenAI images.generate over the workspace's free image models."""

    @extend_schema(request=dict, responses={200: dict})
    def post(self, request: Request) -> HttpResponseBase:
        return super().post(request)

    def respond(self, request: Request) -> HttpResponseBase:
        def file_url(name: str) -> str:
            return request.build_absolute_uri(reverse("v1-image-file", args=[name]))

        return self.json(
            images_generate(caller=caller_of(request), payload=request.data, file_url=file_url)
        )


class ImageAnalyzeView(_MediaView):
    """Describe an image: JSON {prompt, image_url} or multipart {prompt, file}."""

    parser_classes = [SafeJSONParser, MultiPartParser]

    @extend_schema(request=dict, responses={200: dict})
    def post(self, request: Request) -> HttpResponseBase:
        # Set before the body is read: uploads stay in memory and stop at IMAGE_MAX_BYTES.
        request._request.upload_handlers = [CappedUploadHandler(request._request)]
        return super().post(request)

    def respond(self, request: Request) -> HttpResponseBase:
        try:
            payload = request.data
        except ParseError:
            if not request.content_type.startswith("multipart/"):
                raise
            raise ApiError(
                "The multipart body could not be parsed.", code="invalid_multipart"
            ) from None
        if isinstance(payload, dict) and request.content_type.startswith("multipart/"):
            check_storable(
                {name: value for name, value in payload.items() if isinstance(value, str)}
            )
        return self.json(image_analyze(caller=caller_of(request), payload=payload))


class SpeechView(_MediaView):
    """OpenAI audio.speech: raw audio with its Content-Type; errors are JSON."""

    content_negotiation_class = JsonWhateverAccepted

    @extend_schema(request=dict, responses={(200, "audio/*"): OpenApiTypes.BINARY})
    def post(self, request: Request) -> HttpResponseBase:
        return super().post(request)

    def respond(self, request: Request) -> HttpResponseBase:
        result = speech_create(caller=caller_of(request), payload=request.data)
        response = HttpResponse(result.audio, content_type=result.content_type)
        for name, value in result.headers.items():
            response[name] = value
        return response

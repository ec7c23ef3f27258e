"""POST /v1/images/generations, /v1/images/analyze, /v1/audio/speech, /v1/embeddings and
/v1/audio/transcriptions: thin viewsets."""

from django.http import HttpResponse, HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace, key_of
from gateway.api.errors import ApiError
from gateway.api.media_input import (
    EmbeddingInput,
    ImageAnalysisByUrl,
    ImageAnalysisUpload,
    ImageGenerationInput,
    SpeechInput,
    TranscriptionInput,
)
from gateway.api.parsers import SafeJSONParser, check_storable
from gateway.api.route_responses import EMBEDDINGS_RESPONSE, TRANSCRIPTION_RESPONSE
from gateway.api.viewsets.limited import RateLimitedViewSet
from gateway.media.embeddings import embeddings_create
from gateway.media.images import CappedUploadHandler
from gateway.media.service import Caller, MediaResult, image_analyze, images_generate, speech_create
from gateway.media.transcription import AudioUploadHandler, transcription_create


def form_data(request: Request) -> object:
    """The parsed body; a multipart form's text fields are checked like JSON strings."""
    try:
        payload = request.data
    except ParseError:
        if not request.content_type.startswith("multipart/"):
            raise
        raise ApiError(
            "The multipart body could not be parsed.", code="invalid_multipart"
        ) from None
    if hasattr(payload, "items") and request.content_type.startswith("multipart/"):
        check_storable({name: value for name, value in payload.items() if isinstance(value, str)})
    return payload


def caller_of(request: Request) -> Caller:
    request_id: str = request.request_id  # type: ignore[attr-defined]  # RequestIdMiddleware's
    return Caller(
        workspace=caller_workspace(request), api_key=key_of(request), request_id=request_id
    )


class _MediaViewSet(RateLimitedViewSet):
    """A media workflow: its service result becomes a JSON answer with the served headers."""

    @staticmethod
    def json(result: MediaResult) -> Response:
        return Response(result.body, headers=result.headers)


class ImageGenerationViewSet(_MediaViewSet):
    """OpenAI images.generate over the workspace's free image models."""

    @extend_schema(request=ImageGenerationInput, responses={200: dict})
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        def file_url(name: str) -> str:
            return request.build_absolute_uri(reverse("v1-image-file-detail", args=[name]))

        return self.json(
            images_generate(caller=caller_of(request), payload=request.data, file_url=file_url)
        )


class ImageAnalysisViewSet(_MediaViewSet):
    """Describe an image: JSON {prompt, image_url} or multipart {prompt, file}."""

    parser_classes = [SafeJSONParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": ImageAnalysisByUrl,
            "multipart/form-data": ImageAnalysisUpload,
        },
        responses={200: dict},
    )
    def create(self, request: Request) -> HttpResponseBase:
        # Set before the body is read: uploads stay in memory and stop at IMAGE_MAX_BYTES.
        request._request.upload_handlers = [CappedUploadHandler(request._request)]
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        return self.json(image_analyze(caller=caller_of(request), payload=form_data(request)))


class SpeechViewSet(_MediaViewSet):
    """OpenAI audio.speech: raw audio with its Content-Type; errors are JSON, whatever Accept
    says (SDKs send octet-stream; the /v1 negotiation ignores Accept)."""

    @extend_schema(request=SpeechInput, responses={(200, "audio/*"): OpenApiTypes.BINARY})
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        result = speech_create(caller=caller_of(request), payload=request.data)
        response = HttpResponse(result.audio, content_type=result.content_type)
        for name, value in result.headers.items():
            response[name] = value
        return response


class EmbeddingViewSet(_MediaViewSet):
    """OpenAI embeddings.create over the workspace's free embedding models."""

    @extend_schema(request=EmbeddingInput, responses={200: EMBEDDINGS_RESPONSE})
    def create(self, request: Request) -> HttpResponseBase:
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        return self.json(embeddings_create(caller=caller_of(request), payload=request.data))


class TranscriptionViewSet(_MediaViewSet):
    """OpenAI audio.transcriptions.create: a multipart audio file to text (json, text, srt,
    verbose_json or vtt). A JSON body is read too, so it is told which field is missing."""

    parser_classes = [SafeJSONParser, MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": TranscriptionInput},
        responses={
            (200, "application/json"): TRANSCRIPTION_RESPONSE,
            (200, "text/plain"): OpenApiTypes.STR,
            (200, "application/x-subrip"): OpenApiTypes.STR,
            (200, "text/vtt"): OpenApiTypes.STR,
        },
        description="json (default) and verbose_json answer JSON; text answers text/plain, srt "
        "application/x-subrip and vtt text/vtt.",
    )
    def create(self, request: Request) -> HttpResponseBase:
        # Set before the body is read: the audio stays in memory, capped.
        request._request.upload_handlers = [AudioUploadHandler(request._request)]
        return super().create(request)

    def respond(self, request: Request) -> HttpResponseBase:
        result = transcription_create(caller=caller_of(request), payload=form_data(request))
        if result.text is None:
            return self.json(result)
        response = HttpResponse(result.text, content_type=result.content_type)
        for name, value in result.headers.items():
            response[name] = value
        return response

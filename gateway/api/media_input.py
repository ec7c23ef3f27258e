"""The media request bodies, validated with a 400 that names the param.

These serializers are the contract: the services validate with them and drf-spectacular
describes the request bodies from them. A null value is the same as an absent one. Unknown
fields are ignored, never forwarded.
"""

import math
import re
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.selectors import AUTO_FREE_ID
from gateway.api.errors import ApiError
from gateway.media.audio import FORMAT_TYPES

SIZE = re.compile(r"(\d{2,5})x(\d{2,5})")
VOICE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MIN_SIDE, MAX_SIDE = 64, 4096
ANALYZE_PROMPT_MAX_CHARS = 32_000
SPEECH_INSTRUCTIONS_MAX_CHARS = 4096
TRANSCRIPTION_PROMPT_MAX_CHARS = 4096
MAX_IMAGES = 4
IMAGE_RESPONSE_FORMATS = ("url", "b64_json")
URL_OR_PART = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"type": "string", "minLength": 1}},
        },
    ]
}


class _JSONTyped:
    """Only the JSON types the schema names: DRF's own fields turn 5 into "5" and "2" into 2."""

    json_types: tuple[type, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, self.json_types):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(_JSONTyped, serializers.CharField):
    json_types = (str,)


class StrictIntegerField(_JSONTyped, serializers.IntegerField):
    json_types = (int,)  # not "2", 2.0 or true


class StrictFloatField(_JSONTyped, serializers.FloatField):
    json_types = (int, float)  # not "1.5" or true


class StrictBooleanField(serializers.BooleanField):
    """Only true or false: DRF's own field reads "true", "1" and 1 as True."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field(URL_OR_PART)
class ImageUrlField(serializers.JSONField):
    """A string, or OpenAI's content-part object {"url": "..."}."""


def _at_most(value: str, limit: int) -> str:
    if len(value) > limit:
        raise serializers.ValidationError(f"must be at most {limit} characters long.")
    return value


class ImageGenerationInput(serializers.Serializer):
    prompt = StrictCharField()
    model = StrictCharField(required=False, allow_null=True, max_length=300)
    n = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_IMAGES)
    size = StrictCharField(required=False, allow_null=True, max_length=16)
    response_format = serializers.ChoiceField(
        IMAGE_RESPONSE_FORMATS, required=False, allow_null=True
    )
    quality = StrictCharField(required=False, allow_null=True, max_length=16)
    # SerializerMetaclass collects declared fields: Field.style (a dict) is not replaced.
    style = StrictCharField(required=False, allow_null=True, max_length=16)  # type: ignore[assignment]
    stream = StrictBooleanField(
        required=False, allow_null=True, help_text="Only false: images are not streamed."
    )

    def validate_prompt(self, value: str) -> str:
        return _at_most(value, settings.IMAGE_PROMPT_MAX_CHARS)

    def validate_stream(self, value: bool | None) -> bool | None:
        if value:
            raise serializers.ValidationError("streamed image generation is not supported.")
        return value

    def validate_size(self, value: str | None) -> str | None:
        if value is None or value == "auto":
            return None
        match = SIZE.fullmatch(value)
        if not match or not all(MIN_SIDE <= int(side) <= MAX_SIDE for side in match.groups()):
            raise serializers.ValidationError(
                f"must be WIDTHxHEIGHT with sides from {MIN_SIDE} to {MAX_SIDE}, e.g. 1024x1024."
            )
        return value


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A multipart file (a request body, so binary, not the URL DRF's field describes)."""


class ImageAnalysisInput(serializers.Serializer):
    prompt = StrictCharField()
    model = StrictCharField(required=False, allow_null=True, max_length=300)
    image_url = ImageUrlField(required=False, allow_null=True)
    file = UploadField(required=False, allow_null=True)
    max_tokens = StrictIntegerField(required=False, allow_null=True, min_value=1)

    def validate_prompt(self, value: str) -> str:
        return _at_most(value, ANALYZE_PROMPT_MAX_CHARS)

    def validate_image_url(self, value: Any) -> str | None:
        """A string, or OpenAI's content-part object {"url": "..."}."""
        if isinstance(value, dict):
            value = value.get("url")
        if value is not None and not isinstance(value, str):
            raise serializers.ValidationError("must be an https:// or data: URL string.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("image_url", "file") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"image_url": "send exactly one image: image_url, or a multipart 'file'."}
            )
        return attrs


class ImageAnalysisByUrl(ImageAnalysisInput):
    """The JSON form: the image by URL (validation is ImageAnalysisInput's)."""

    image_url = ImageUrlField()
    file = None  # type: ignore[assignment]  # DRF drops a declared field set to None


class ImageAnalysisUpload(ImageAnalysisInput):
    """The multipart form: the image as a file."""

    image_url = None  # type: ignore[assignment]  # DRF drops a declared field set to None
    file = UploadField()


class SpeechInput(serializers.Serializer):
    model = StrictCharField(max_length=300)
    input = StrictCharField()
    voice = StrictCharField(required=False, allow_null=True, max_length=64)
    response_format = serializers.ChoiceField(list(FORMAT_TYPES), required=False, allow_null=True)
    speed = StrictFloatField(required=False, allow_null=True, min_value=0.25, max_value=4)
    instructions = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=SPEECH_INSTRUCTIONS_MAX_CHARS,
    )

    def validate_input(self, value: str) -> str:
        return _at_most(value, settings.SPEECH_MAX_INPUT_CHARS)

    def validate_voice(self, value: str | None) -> str | None:
        if value is not None and not VOICE.fullmatch(value):
            raise serializers.ValidationError("is not a voice name.")
        return value

    def validate_speed(self, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number.")
        return value


def parse_input(serializer: type[serializers.Serializer], payload: Any) -> dict[str, Any]:
    """Validated fields without nulls; the model defaults to the auto route."""
    if not isinstance(payload, dict):
        raise ApiError("The request body must be a JSON object.", code="invalid_request")
    data = serializer(data=payload)
    data.is_valid(raise_exception=True)
    values = {name: value for name, value in data.validated_data.items() if value is not None}
    values.setdefault("model", AUTO_FREE_ID)
    return values


# ---- embeddings and transcriptions ---------------------------------------------------------------
EMBEDDING_MAX_INPUTS = 2048  # OpenAI's limit on the inputs of one request
EMBEDDING_FORMATS = ("float", "base64")
TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TOKENS = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1}
EMBEDDING_INPUT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        TOKENS,
        {"type": "array", "items": TOKENS, "minItems": 1},
    ]
}


def _tokens(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)
    )


@extend_schema_field(EMBEDDING_INPUT)
class EmbeddingInputField(serializers.JSONField):
    """A string, a list of strings, a token array or a list of token arrays; always a list of
    inputs once validated (a token array is one input)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str) or _tokens(data):
            data = [data]
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError(
                "must be a string, a list of strings or a list of token arrays."
            )
        if len(data) > EMBEDDING_MAX_INPUTS:
            raise serializers.ValidationError(f"at most {EMBEDDING_MAX_INPUTS} inputs.")
        if not all(isinstance(item, str) and item for item in data) and not all(
            _tokens(item) for item in data
        ):
            raise serializers.ValidationError(
                "every input must be a non-empty string, or every input a token array."
            )
        return data


class EmbeddingInput(serializers.Serializer):
    model = StrictCharField(max_length=300)
    input = EmbeddingInputField()
    encoding_format = serializers.ChoiceField(EMBEDDING_FORMATS, required=False, allow_null=True)
    dimensions = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=65536)
    user = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=256)


class TranscriptionInput(serializers.Serializer):
    """The multipart form OpenAI's audio.transcriptions.create sends (every value a string)."""

    file = UploadField()
    model = serializers.CharField(max_length=300)
    response_format = serializers.ChoiceField(
        TRANSCRIPTION_FORMATS, required=False, allow_null=True
    )
    language = serializers.RegexField(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$", required=False)
    prompt = serializers.CharField(
        required=False, allow_blank=True, max_length=TRANSCRIPTION_PROMPT_MAX_CHARS
    )
    temperature = serializers.FloatField(required=False, min_value=0, max_value=1)
    stream = serializers.BooleanField(
        required=False, help_text="Only false: transcriptions are not streamed."
    )

    def validate_temperature(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number.")
        return value

    def validate_stream(self, value: bool) -> bool:
        if value:
            raise serializers.ValidationError("streamed transcription is not supported.")
        return value

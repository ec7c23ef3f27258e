"""Response bodies of /v1/embeddings, /v1/audio/transcriptions and /v1/completions, for the
OpenAPI schema (OpenAI's shapes plus `provider`, the credential that served)."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

EMBEDDINGS_RESPONSE = inline_serializer(
    "EmbeddingList",
    {
        "object": serializers.CharField(default="list"),
        "data": inline_serializer(
            "Embedding",
            {
                "object": serializers.CharField(default="embedding"),
                "index": serializers.IntegerField(),
                "embedding": serializers.JSONField(
                    help_text="A list of floats, or base64 little-endian float32 when "
                    "encoding_format is base64."
                ),
            },
            many=True,
        ),
        "model": serializers.CharField(),
        "provider": serializers.CharField(),
        "usage": inline_serializer(
            "EmbeddingUsage",
            {
                "prompt_tokens": serializers.IntegerField(),
                "total_tokens": serializers.IntegerField(),
            },
        ),
    },
)
TRANSCRIPTION_RESPONSE = inline_serializer(
    "Transcription",
    {
        "text": serializers.CharField(),
        "task": serializers.CharField(required=False, help_text="verbose_json only"),
        "language": serializers.CharField(required=False, help_text="verbose_json only"),
        "duration": serializers.FloatField(required=False, help_text="verbose_json only"),
        "segments": serializers.ListField(
            child=serializers.DictField(),
            required=False,
            help_text="verbose_json only: {id, start, end, text} and what the model adds",
        ),
    },
)
COMPLETION_RESPONSE = inline_serializer(
    "TextCompletion",
    {
        "id": serializers.CharField(),
        "object": serializers.CharField(default="text_completion"),
        "created": serializers.IntegerField(),
        "model": serializers.CharField(),
        "provider": serializers.CharField(),
        "choices": inline_serializer(
            "TextCompletionChoice",
            {
                "index": serializers.IntegerField(),
                "text": serializers.CharField(allow_blank=True),
                "finish_reason": serializers.CharField(),
                "logprobs": serializers.JSONField(allow_null=True),
            },
            many=True,
        ),
        "usage": serializers.DictField(required=False),
    },
)

"""The legacy completions body (/v1/completions), validated and turned into a chat request.

`CompletionRequestInput` is the contract (drf-spectacular describes the request from it). The
route is served by the chat workflow: the prompt becomes one user message, the sampling
parameters keep their names. What a chat model cannot do is refused with a 400
`unsupported_parameter` rather than ignored: `echo`, `suffix` (fill-in-the-middle), `best_of`
above 1, `logprobs`, several prompts and token-array prompts (token ids belong to one
tokenizer; the route may be any provider's model).
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api.chat_request import (
    BOOLEAN,
    STRING_LIST,
    RequiredLeanField,
    ScalarField,
    _fallback_models,
    _field,
    _first_error,
    _include_usage,
    _invalid,
    _model,
    _provider_prefs,
    _stop,
    _typed,
)
from gateway.api.errors import ApiError

SAMPLING = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "seed",
    "n",
    "user",
    "stop",
)
PROMPT_SCHEMA = {
    "oneOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1},
    ]
}


def unsupported(param: str, reason: str) -> ApiError:
    return ApiError(
        f"'{param}' is not supported on /v1/completions: {reason}.",
        code="unsupported_parameter",
        param=param,
    )


def _prompt(value: Any) -> str:
    if value is None:
        raise serializers.ValidationError({"prompt": ["a prompt is required"]})
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
        raise unsupported("prompt", "token-array prompts cannot be routed to any provider")
    if isinstance(value, list):
        raise unsupported("prompt", "send one prompt per request")
    if not isinstance(value, str):
        raise serializers.ValidationError({"prompt": ["expected a string"]})
    return value


def _refused_unless(allowed: Any, param: str, reason: str) -> Any:
    def check(value: Any) -> Any:
        if value != allowed:
            raise unsupported(param, reason)
        return value

    return check


class CompletionRequestInput(serializers.Serializer):
    """The legacy completion body; `model` may be left out when `models` is given."""

    models = _field({**STRING_LIST, "items": {"type": "string", "minLength": 1}}, _fallback_models)
    model = _field({"type": "string", "minLength": 1}, _model)
    prompt = extend_schema_field(PROMPT_SCHEMA)(type("PromptField", (RequiredLeanField,), {}))(
        _prompt
    )
    stream = _field({"type": "boolean"}, lambda value: _typed(value, "stream", BOOLEAN))
    stream_options = _field(
        {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}, _include_usage
    )
    temperature = ScalarField("temperature")
    top_p = ScalarField("top_p")
    presence_penalty = ScalarField("presence_penalty")
    frequency_penalty = ScalarField("frequency_penalty")
    max_tokens = ScalarField("max_tokens")
    seed = ScalarField("seed")
    n = ScalarField("n")
    user = ScalarField("user")
    stop = _field({"oneOf": [{"type": "string"}, {**STRING_LIST, "maxItems": 4}]}, _stop)
    provider = _field({"type": "object"}, _provider_prefs)
    echo = _field(
        {"type": "boolean", "enum": [False]},
        _refused_unless(False, "echo", "a chat model does not repeat the prompt"),
    )
    suffix = _field(
        {"type": "string", "maxLength": 0},
        _refused_unless("", "suffix", "fill-in-the-middle needs a native completions model"),
    )
    best_of = _field(
        {"type": "integer", "enum": [1]}, _refused_unless(1, "best_of", "only best_of 1 is served")
    )
    logprobs = _field(
        # only null or absent is accepted (an `enum: [null]` would lose its null in the schema)
        {"type": "integer", "nullable": True, "minimum": 0, "maximum": 0, "readOnly": False},
        _refused_unless(None, "logprobs", "token log probabilities are not served"),
    )

    def validate_model(self, value: str | None) -> str:
        models = self.initial_data.get("models")
        if value is None and isinstance(models, list) and models:
            value = models[0]
        return _model(value)


def chat_payload(payload: Any) -> dict[str, Any]:
    """The chat completions body that serves this legacy completions body; ApiError(400)."""
    if not isinstance(payload, dict):
        _invalid("", "the body must be a JSON object")
    data = CompletionRequestInput(data=payload)
    if not data.is_valid():
        _invalid(*_first_error(data.errors))
    values = data.validated_data
    body: dict[str, Any] = {
        "model": values["model"],
        "messages": [{"role": "user", "content": values["prompt"]}],
    }
    for name in ("models", "stream", "provider", *SAMPLING):
        if payload.get(name) is not None:
            body[name] = payload[name]  # chat validates them again under the same names
    if payload.get("stream_options") is not None:
        body["stream_options"] = payload["stream_options"]
    return body

"""The incoming chat request: validated (400 naming the param), normalized, and what it needs.

`ChatRequestInput` is the contract: it validates the body and drf-spectacular describes the
request from it. Its fields are lean (one function each, no nested serializers per message:
this runs on every chat request), and each names the exact param of a problem. Only known
OpenAI parameters are forwarded upstream; anything else (including api_base, base_url, headers,
extra_headers, custom_llm_provider) is ignored, never used. A null value is the same as an
absent one.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, cast

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from gateway.api.errors import ApiError
from gateway.requestlog.tokens import estimated_usage, prompt_tokens
from gateway.url_guard import ImageFetchError, check_forwarded_url

DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp)(?:;[^,]{0,100})?,", re.IGNORECASE)
ROLES = ("system", "developer", "user", "assistant", "tool")
PART_TYPES = ("text", "image_url")
TOOL_CHOICES = ("none", "auto", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
TOOL_PARAMS = ("tools", "tool_choice", "parallel_tool_calls")
NUMBER, INTEGER, BOOLEAN, STRING = "number", "integer", "boolean", "string"
# name -> (type, minimum, maximum)
SCALARS: dict[str, tuple[str, float | None, float | None]] = {
    "temperature": (NUMBER, 0, 2),
    "top_p": (NUMBER, 0, 1),
    "presence_penalty": (NUMBER, -2, 2),
    "frequency_penalty": (NUMBER, -2, 2),
    "max_tokens": (INTEGER, 1, None),
    "max_completion_tokens": (INTEGER, 1, None),
    "seed": (INTEGER, None, None),
    "n": (INTEGER, 1, 16),
    "top_logprobs": (INTEGER, 0, 20),
    "logprobs": (BOOLEAN, None, None),
    "parallel_tool_calls": (BOOLEAN, None, None),
    "user": (STRING, None, None),
}
PARAM_NAMES = (*SCALARS, "stop", "tools", "tool_choice", "response_format")
SCALAR_SCHEMA_TYPES = {NUMBER: "number", INTEGER: "integer", BOOLEAN: "boolean", STRING: "string"}


@dataclass(frozen=True)
class ProviderPrefs:
    """OpenRouter's `provider` object: slugs or credential names."""

    order: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    allow_fallbacks: bool = True


@dataclass
class ChatRequest:
    model: str
    fallback_models: list[str]
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False
    provider: ProviderPrefs = field(default_factory=ProviderPrefs)

    @property
    def needs_tools(self) -> bool:
        return bool(self.params.get("tools")) and self.params.get("tool_choice") != "none"

    @property
    def needs_vision(self) -> bool:
        return any(
            isinstance(part, dict) and part.get("type") == "image_url"
            for message in self.messages
            if isinstance(message.get("content"), list)
            for part in message["content"]
        )

    @property
    def needs_structured_output(self) -> bool:
        kind = (self.params.get("response_format") or {}).get("type")
        return kind in ("json_object", "json_schema")

    @property
    def max_output_tokens(self) -> int:
        return self.params.get("max_completion_tokens") or self.params.get("max_tokens") or 0

    def prompt_tokens_estimate(self) -> int:
        """Characters / 4 over text and tool definitions, a cheap bound for routing; images
        are not counted."""
        chars = sum(len(_text_of(message)) for message in self.messages)
        chars += len(json.dumps(self.params.get("tools") or []))
        return chars // 4

    def usage_estimate(self, completion_texts: list[str]) -> dict[str, int]:
        """Usage counted with the tokenizer, for an answer whose upstream reported none."""
        prompt = prompt_tokens(self.messages, self.params.get("tools"))
        return estimated_usage(prompt=prompt, completion_texts=completion_texts)


def parse_chat_request(payload: Any) -> ChatRequest:
    """Validate an OpenAI chat request body; raise ApiError(400, param=...) on the first problem."""
    _require(isinstance(payload, dict), "", "the body must be a JSON object")
    data = ChatRequestInput(data=payload)
    if not data.is_valid():
        _invalid(*_first_error(data.errors))
    values = data.validated_data
    models, model = values["models"] or [], values["model"]
    stream = values["stream"] or False
    return ChatRequest(
        model=model.strip(),
        fallback_models=[m for m in models if m != model],
        messages=values["messages"],
        params={
            name: values[name]
            for name in PARAM_NAMES
            if values.get(name) is not None  # a null value is an absent one
        },
        stream=stream,
        include_usage=stream and bool(values["stream_options"]),
        provider=values["provider"] or ProviderPrefs(),
    )


def _first_error(errors: Any) -> tuple[str, str]:
    """(param, reason) of the first field in error. A lean field names its own nested param
    (`messages[0].role`), so a nested error's key is the param."""
    name, detail = next(iter(errors.items()))
    if isinstance(detail, dict):
        return _first_error(detail)
    return name, str(detail[0])


def upstream_payload(request: ChatRequest, *, upstream_id: str, model: Any) -> dict[str, Any]:
    """The body for one route, output tokens clamped to the model.

    Routing never sends a request that relies on `tools` or structured output to a model known
    not to support it; here such params are dropped only where they ask for nothing (tool_choice
    "none", response_format "text"), which such a model may still reject.
    """
    params = dict(request.params)
    capabilities = model.capabilities if isinstance(model.capabilities, dict) else {}
    if capabilities.get("tools") is False:
        for name in TOOL_PARAMS:
            params.pop(name, None)
    if capabilities.get("structured_output") is False:
        params.pop("response_format", None)
    for name in ("max_tokens", "max_completion_tokens"):
        if model.max_output_tokens and params.get(name, 0) > model.max_output_tokens:
            params[name] = model.max_output_tokens
    # No stream_options: the adapter asks for stream usage where its provider takes it.
    return {"model": upstream_id, "messages": request.messages, **params}


# ---- validation helpers -----------------------------------------------------------------------
def _invalid(param: str, reason: str) -> NoReturn:
    message = f"Invalid '{param}': {reason}." if param else f"Invalid request: {reason}."
    raise ApiError(message, status=400, code="invalid_request", param=param or None)


def _require(condition: bool, param: str, reason: str) -> None:
    """Inside a field: a validation error keyed by the exact param, collected in field order."""
    if not condition:
        if not param:
            _invalid(param, reason)
        raise serializers.ValidationError({param: [reason]})


def _is_type(value: Any, kind: str) -> bool:
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == INTEGER:
        return isinstance(value, int)
    if kind == NUMBER:
        return isinstance(value, (int, float))
    return isinstance(value, str)


def _typed(value: Any, name: str, kind: str) -> Any:
    _require(_is_type(value, kind), name, f"expected {'an' if kind[0] in 'i' else 'a'} {kind}")
    return value


def _scalar(value: Any, name: str) -> Any:
    kind, low, high = SCALARS[name]
    _typed(value, name, kind)
    _require(low is None or value >= low, name, f"must be at least {low}")
    _require(high is None or value <= high, name, f"must be at most {high}")
    return value


def _stop(value: Any) -> Any:
    ok = isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(s, str) for s in value) and len(value) <= 4
    )
    _require(ok, "stop", "expected a string or a list of up to 4 strings")
    return value


def _tools(value: Any) -> list[Any]:
    _require(isinstance(value, list), "tools", "expected a list")
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        _require(isinstance(tool, dict), param, "expected an object")
        _require(tool.get("type") == "function", f"{param}.type", "expected 'function'")
        function = tool.get("function")
        _require(isinstance(function, dict), f"{param}.function", "expected an object")
        name = function.get("name")
        _require(isinstance(name, str) and name != "", f"{param}.function.name", "required")
    return value


def _tool_choice(value: Any) -> Any:
    if isinstance(value, str):
        _require(value in TOOL_CHOICES, "tool_choice", "expected none, auto or required")
        return value
    _require(
        isinstance(value, dict) and isinstance(value.get("function"), dict),
        "tool_choice",
        "expected a string or {'type': 'function', 'function': {'name': ...}}",
    )
    return value


def _response_format(value: Any) -> dict[str, Any]:
    _require(isinstance(value, dict), "response_format", "expected an object")
    kind = value.get("type")
    _require(
        kind in RESPONSE_FORMATS, "response_format.type", "expected " + ", ".join(RESPONSE_FORMATS)
    )
    if kind == "json_schema":
        _require(
            isinstance(value.get("json_schema"), dict),
            "response_format.json_schema",
            "expected an object",
        )
    return value


def _include_usage(value: Any) -> bool:
    _require(isinstance(value, dict), "stream_options", "expected an object")
    include = value.get("include_usage")
    _require(
        include is None or isinstance(include, bool),
        "stream_options.include_usage",
        "expected a boolean",
    )
    return bool(include)


def _fallback_models(value: Any) -> list[str]:
    ok = isinstance(value, list) and all(isinstance(m, str) and m for m in value)
    _require(ok, "models", "expected a list of model ids")
    return list(dict.fromkeys(value))


def _provider_prefs(value: Any) -> ProviderPrefs:
    _require(isinstance(value, dict), "provider", "expected an object")
    lists = {}
    for name in ("order", "only", "ignore"):
        items = value.get(name) or []
        ok = isinstance(items, list) and all(isinstance(item, str) for item in items)
        _require(ok, f"provider.{name}", "expected a list of provider names")
        lists[name] = tuple(items)
    allow = value.get("allow_fallbacks", True)
    _require(isinstance(allow, bool), "provider.allow_fallbacks", "expected a boolean")
    return ProviderPrefs(allow_fallbacks=allow, **lists)


def _messages(value: Any) -> list[dict[str, Any]]:
    _require(isinstance(value, list), "messages", "expected a list of messages")
    _require(len(value) > 0, "messages", "at least one message is required")
    return [_message(message, f"messages[{index}]") for index, message in enumerate(value)]


def _message(message: Any, param: str) -> dict[str, Any]:
    _require(isinstance(message, dict), param, "expected an object")
    role = message.get("role")
    _require(role in ROLES, f"{param}.role", "expected one of " + ", ".join(ROLES))
    content = _content(message.get("content"), f"{param}.content", role)
    tool_call_id = message.get("tool_call_id")
    if role == "tool":
        _require(isinstance(tool_call_id, str), f"{param}.tool_call_id", "required")
    elif tool_call_id is not None:
        _require(isinstance(tool_call_id, str), f"{param}.tool_call_id", "expected a string")
    if message.get("tool_calls") is not None:
        _require(isinstance(message["tool_calls"], list), f"{param}.tool_calls", "expected a list")
    if message.get("name") is not None:
        _require(isinstance(message["name"], str), f"{param}.name", "expected a string")
    clean = {k: message[k] for k in MESSAGE_KEYS if message.get(k) is not None}
    clean["role"] = "system" if role == "developer" else role
    clean["content"] = content
    return clean


def _content(content: Any, param: str, role: str) -> Any:
    if content is None:
        _require(role == "assistant", param, "required")
        return None
    if isinstance(content, str):
        return content
    _require(isinstance(content, list), param, "expected a string or a list of content parts")
    for index, part in enumerate(content):
        _part(part, f"{param}[{index}]", role)
    if all(part["type"] == "text" for part in content):
        return "\n".join(part["text"] for part in content)  # text-only: the form every model takes
    return content


def _part(part: Any, param: str, role: str) -> None:
    _require(isinstance(part, dict), param, "expected an object")
    kind = part.get("type")
    _require(kind in PART_TYPES, f"{param}.type", "expected text or image_url")
    if kind == "text":
        _require(isinstance(part.get("text"), str), f"{param}.text", "expected a string")
        return
    _require(role == "user", f"{param}.type", "images are only allowed in user messages")
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    _require(isinstance(url, str) and url != "", f"{param}.image_url.url", "expected a URL")
    _image_url(cast(str, url), f"{param}.image_url.url")  # a string: _require checked it


def _image_url(url: str, param: str) -> None:
    """A data: image, or an http(s) URL the provider fetches: internal hosts are refused."""
    if url[:5].lower() == "data:":
        _require(
            DATA_IMAGE.match(url) is not None,
            param,
            "expected a PNG, JPEG, GIF or WebP data:image/...;base64, URL",
        )
        return
    try:
        check_forwarded_url(url)
    except ImageFetchError as error:
        error.param = param
        raise


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    else:
        text = ""
    return text + json.dumps(message.get("tool_calls") or "")


def _model(value: Any) -> str:
    _require(isinstance(value, str) and value.strip() != "", "model", "a model id is required")
    return value


# ---- the contract -----------------------------------------------------------------------------
def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STRING_LIST = {"type": "array", "items": {"type": "string"}}
PART_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(PART_TYPES)},
        "text": {"type": "string"},
        "image_url": {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"type": "string", "minLength": 1}},
        },
    },
}
MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": list(ROLES)},
        "content": _optional(
            {"oneOf": [{"type": "string"}, {"type": "array", "items": PART_SCHEMA}]}
        ),
        "name": _optional({"type": "string"}),
        "tool_call_id": _optional({"type": "string"}),
        "tool_calls": _optional({"type": "array", "items": {"type": "object"}}),
    },
}


class LeanField(serializers.Field):
    """One JSON value checked by one function `check(value)`; null is absent (None).

    The check raises a validation error keyed by the exact param (`messages[0].role`).
    """

    def __init__(self, check: Any, **kwargs: Any) -> None:
        self.check = check
        kwargs.setdefault("default", None)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # DRF's default/empty/validators pipeline, in the few lines a lean field needs.
        return None if data is empty or data is None else self.check(data)


class RequiredLeanField(LeanField):
    """Checked even when absent or null, so the check words the error, not DRF."""

    def __init__(self, check: Any, **kwargs: Any) -> None:
        super().__init__(check, required=True, default=empty, allow_null=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        return self.check(None if data is empty else data)


class ScalarField(LeanField):
    """An OpenAI sampling parameter of SCALARS: its JSON type and bounds, never coerced."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(lambda value: _scalar(value, name), **kwargs)
        self.scalar = SCALARS[name]


class ScalarFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ScalarField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        kind, low, high = self.target.scalar
        schema: dict[str, Any] = {"type": SCALAR_SCHEMA_TYPES[kind]}
        if low is not None:
            schema["minimum"] = low
        if high is not None:
            schema["maximum"] = high
        return schema


def _field(schema: dict[str, Any], check: Any, **kwargs: Any) -> LeanField:
    """A lean field with its OpenAPI schema (drf-spectacular reads it from the class)."""
    return extend_schema_field(schema)(type("LeanField", (LeanField,), {}))(check, **kwargs)


class ChatRequestInput(serializers.Serializer):
    """The chat completion body. Fields in the order they are checked: the first in error
    names the 400's param. `model` may be left out when `models` (the fallback list) is given."""

    models = _field({**STRING_LIST, "items": {"type": "string", "minLength": 1}}, _fallback_models)
    model = _field({"type": "string", "minLength": 1}, _model)
    stream = _field({"type": "boolean"}, lambda value: _typed(value, "stream", BOOLEAN))
    stream_options = _field(
        {"type": "object", "properties": {"include_usage": _optional({"type": "boolean"})}},
        _include_usage,
    )
    messages = extend_schema_field({"type": "array", "minItems": 1, "items": MESSAGE_SCHEMA})(
        type("MessagesField", (RequiredLeanField,), {})
    )(_messages)
    temperature = ScalarField("temperature")
    top_p = ScalarField("top_p")
    presence_penalty = ScalarField("presence_penalty")
    frequency_penalty = ScalarField("frequency_penalty")
    max_tokens = ScalarField("max_tokens")
    max_completion_tokens = ScalarField("max_completion_tokens")
    seed = ScalarField("seed")
    n = ScalarField("n")
    top_logprobs = ScalarField("top_logprobs")
    logprobs = ScalarField("logprobs")
    parallel_tool_calls = ScalarField("parallel_tool_calls")
    user = ScalarField("user")
    stop = _field({"oneOf": [{"type": "string"}, {**STRING_LIST, "maxItems": 4}]}, _stop)
    tools = _field({"type": "array", "items": {"type": "object"}}, _tools)
    tool_choice = _field({"oneOf": [{"type": "string"}, {"type": "object"}]}, _tool_choice)
    response_format = _field({"type": "object"}, _response_format)
    provider = _field({"type": "object"}, _provider_prefs)
    _shared_fields: ClassVar[Any]  # bound on first use, see `fields`

    @property
    def fields(self) -> Any:
        """Bound once, not deep-copied for every request as DRF does (that copy was most of the
        cost of validating a chat body): lean fields keep no state between requests."""
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            template = cls()  # the fields' parent: an empty serializer, never a request's body
            shared = serializers.Serializer.fields.func(template)  # type: ignore[attr-defined]
            cls._shared_fields = shared
        return shared

    def validate_model(self, value: str | None) -> str:
        """Absent: the first of `models` (already checked, or in error before this field)."""
        models = self.initial_data.get("models")
        if value is None and isinstance(models, list) and models:
            value = models[0]
        return _model(value)

"""The incoming chat request: validated (400 naming the param), normalized, and what it needs.

Only known OpenAI parameters are forwarded upstream; anything else (including api_base,
base_url, headers, extra_headers, custom_llm_provider) is ignored, never used. A null value is
the same as an absent one.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, cast

from gateway.url_guard import ImageFetchError, check_forwarded_url

from .errors import ApiError

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
        """Characters / 4 over text and tool definitions; images are not counted."""
        chars = sum(len(_text_of(message)) for message in self.messages)
        chars += len(json.dumps(self.params.get("tools") or []))
        return chars // 4


def parse_chat_request(payload: Any) -> ChatRequest:
    """Validate an OpenAI chat request body; raise ApiError(400, param=...) on the first problem."""
    _require(isinstance(payload, dict), "", "the body must be a JSON object")
    models = _fallback_models(payload.get("models"))
    model = payload.get("model")
    if model is None and models:
        model = models[0]
    _require(isinstance(model, str) and model.strip() != "", "model", "a model id is required")
    stream = _optional(payload, "stream", BOOLEAN) or False
    include_usage = _include_usage(payload.get("stream_options"))  # checked even unused
    return ChatRequest(
        model=model.strip(),
        fallback_models=[m for m in models if m != model],
        messages=_messages(payload.get("messages")),
        params=_params(payload),
        stream=stream,
        include_usage=stream and include_usage,
        provider=_provider_prefs(payload.get("provider")),
    )


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
    body = {"model": upstream_id, "messages": request.messages, **params}
    if request.include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


# ---- validation helpers -----------------------------------------------------------------------
def _require(condition: bool, param: str, reason: str) -> None:
    if not condition:
        message = f"Invalid '{param}': {reason}." if param else f"Invalid request: {reason}."
        raise ApiError(message, status=400, code="invalid_request", param=param or None)


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


def _optional(payload: dict[str, Any], name: str, kind: str) -> Any:
    value = payload.get(name)
    if value is not None:
        _require(_is_type(value, kind), name, f"expected {'an' if kind[0] in 'i' else 'a'} {kind}")
    return value


def _params(payload: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, (kind, low, high) in SCALARS.items():
        value = _optional(payload, name, kind)
        if value is None:
            continue
        _require(low is None or value >= low, name, f"must be at least {low}")
        _require(high is None or value <= high, name, f"must be at most {high}")
        params[name] = value
    for name, check in (
        ("stop", _stop),
        ("tools", _tools),
        ("tool_choice", _tool_choice),
        ("response_format", _response_format),
    ):
        if payload.get(name) is not None:
            params[name] = check(payload[name])
    return params


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
    if value is None:
        return False
    _require(isinstance(value, dict), "stream_options", "expected an object")
    include = value.get("include_usage")
    _require(
        include is None or isinstance(include, bool),
        "stream_options.include_usage",
        "expected a boolean",
    )
    return bool(include)


def _fallback_models(value: Any) -> list[str]:
    if value is None:
        return []
    ok = isinstance(value, list) and all(isinstance(m, str) and m for m in value)
    _require(ok, "models", "expected a list of model ids")
    return list(dict.fromkeys(value))


def _provider_prefs(value: Any) -> ProviderPrefs:
    if value is None:
        return ProviderPrefs()
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

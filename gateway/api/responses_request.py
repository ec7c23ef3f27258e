"""The incoming Responses request: validated (400 naming the param) into a ResponsesRequest.

Items, tools, tool_choice and text.format are checked by the translation tables that convert
them (gateway.responses.translate), so what is accepted is exactly what can be translated.
Unknown parameters are ignored, as on chat completions; a null value is an absent one.
`ResponsesRequestInput` only describes the body for the OpenAPI schema.
"""

from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from gateway.api.errors import ApiError
from gateway.responses import translate

METADATA_MAX_KEYS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 16, 64, 512
NUMBERS = {"temperature": (0, 2), "top_p": (0, 1)}


@dataclass
class ResponsesRequest:
    model: str
    items: list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool = True
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True
    previous_response_id: str | None = None
    stream: bool = False
    # Gateway extras forwarded to the chat machinery as they are: `models`, `provider`, `user`.
    routing: dict[str, Any] = field(default_factory=dict)

    def chat_payload(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """The chat completion body: instructions, the stored history, then this input."""
        messages = [{"role": "system", "content": self.instructions}] if self.instructions else []
        messages += translate.items_to_messages(history, "previous_response_id")
        messages += translate.items_to_messages(self.items)
        payload: dict[str, Any] = {"model": self.model, "messages": messages, **self.routing}
        if self.tools:
            payload["tools"] = translate.tools_to_chat(self.tools)
            payload["tool_choice"] = translate.tool_choice_to_chat(self.tool_choice)
            payload["parallel_tool_calls"] = self.parallel_tool_calls
        response_format = translate.format_to_chat(self.text_format)
        if response_format:
            payload["response_format"] = response_format
        optional = {
            "max_tokens": self.max_output_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        payload.update({name: value for name, value in optional.items() if value is not None})
        return payload


def parse_responses_request(payload: Any) -> ResponsesRequest:
    if not isinstance(payload, dict):
        raise ApiError("Invalid request: the body must be a JSON object.")
    values = {key: value for key, value in payload.items() if value is not None}
    if values.get("background") is True:
        raise translate.unsupported("background", "background")
    model = values.get("model")
    models = values.get("models")
    if model is None and isinstance(models, list) and models:
        model = models[0]
    if not isinstance(model, str) or not model.strip():
        raise translate.invalid("model", "a model id is required")
    tools = values.get("tools", [])
    if not isinstance(tools, list):
        raise translate.invalid("tools", "expected a list")
    translate.tools_to_chat(tools)  # refuses built-in tools, naming them
    request = ResponsesRequest(
        model=model.strip(),
        items=translate.input_items(values.get("input")),
        instructions=_string(values, "instructions"),
        tools=[_echoed_tool(tool) for tool in tools],
        tool_choice=values.get("tool_choice", "auto"),
        text_format=_text_format(values.get("text")),
        max_output_tokens=_positive_int(values, "max_output_tokens"),
        temperature=_number(values, "temperature"),
        top_p=_number(values, "top_p"),
        parallel_tool_calls=_boolean(values, "parallel_tool_calls", True),
        metadata=_metadata(values.get("metadata", {})),
        store=_boolean(values, "store", True),
        previous_response_id=_string(values, "previous_response_id"),
        stream=_boolean(values, "stream", False),
        routing={name: values[name] for name in ("models", "provider", "user") if name in values},
    )
    translate.tool_choice_to_chat(request.tool_choice)
    return request


def _echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A function tool as the Response echoes it (spec: name, parameters and strict required)."""
    echoed = {
        "type": "function",
        "name": tool["name"],
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }
    if isinstance(tool.get("description"), str):
        echoed["description"] = tool["description"]
    return echoed


def _text_format(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "text"}
    if not isinstance(value, dict):
        raise translate.invalid("text", "expected an object")
    fmt = value.get("format") or {"type": "text"}
    if not isinstance(fmt, dict):
        raise translate.invalid("text.format", "expected an object")
    translate.format_to_chat(fmt)
    return fmt


def _string(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is not None and not isinstance(value, str):
        if name == "instructions" and isinstance(value, list):
            raise translate.unsupported("A list of instruction items", name)
        raise translate.invalid(name, "expected a string")
    return value


def _boolean(values: dict[str, Any], name: str, default: bool) -> bool:
    value = values.get(name, default)
    if not isinstance(value, bool):
        raise translate.invalid(name, "expected a boolean")
    return value


def _positive_int(values: dict[str, Any], name: str) -> int | None:
    value = values.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise translate.invalid(name, "expected a positive integer")
    return value


def _number(values: dict[str, Any], name: str) -> float | None:
    value = values.get(name)
    if value is None:
        return None
    low, high = NUMBERS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise translate.invalid(name, f"expected a number from {low} to {high}")
    return value


def _metadata(value: Any) -> dict[str, str]:
    ok = (
        isinstance(value, dict)
        and len(value) <= METADATA_MAX_KEYS
        and all(
            isinstance(k, str)
            and len(k) <= METADATA_KEY_MAX
            and isinstance(v, str)
            and len(v) <= METADATA_VALUE_MAX
            for k, v in value.items()
        )
    )
    if not ok:
        raise translate.invalid("metadata", "expected up to 16 string keys with string values")
    return dict(value)


class ResponsesRequestInput(serializers.Serializer):
    """The body of POST /v1/responses (OpenAI's CreateResponse, the supported part)."""

    model = serializers.CharField(help_text="A model id, or openprovider/auto-free.")
    models = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Fallback model ids, in order."
    )
    input = serializers.JSONField(
        help_text="A string, or a list of message, function_call and function_call_output items."
    )
    instructions = serializers.CharField(required=False, allow_null=True)
    tools = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Function tools only."
    )
    tool_choice = serializers.JSONField(required=False)
    text = serializers.DictField(required=False, help_text="{'format': {...}}")
    max_output_tokens = serializers.IntegerField(required=False, min_value=1, allow_null=True)
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2, allow_null=True)
    top_p = serializers.FloatField(required=False, min_value=0, max_value=1, allow_null=True)
    parallel_tool_calls = serializers.BooleanField(required=False)
    metadata = serializers.DictField(child=serializers.CharField(), required=False)
    store = serializers.BooleanField(required=False, default=True)
    previous_response_id = serializers.CharField(required=False, allow_null=True)
    stream = serializers.BooleanField(required=False)

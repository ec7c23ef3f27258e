"""OpenAPI post-processing: the error envelope as one shared component, and the request bodies.

The /v1 views parse their bodies by hand (gateway.chat_request, gateway.media_input), so the
bodies are described here, with only the constraints those parsers enforce; a null value is
the same as an absent one, so optional fields are nullable. Every /v1 operation answers errors
with the envelope (`default` response), and its content is JSON whatever the status.
"""

from typing import Any

from gateway.media.audio import FORMAT_TYPES
from gateway.media.images import NAME

from .chat_request import ROLES, SCALARS
from .media_input import MAX_IMAGES

ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code", "param"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": "string"},
                "param": {"type": "string", "nullable": True},
                "request_id": {"type": "string"},
                "attempts": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
SCALAR_TYPES = {"number": "number", "integer": "integer", "boolean": "boolean", "string": "string"}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _chat_body() -> dict[str, Any]:
    part = {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["text", "image_url"]},
            "text": {"type": "string"},
            "image_url": {
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string", "minLength": 1}},
            },
        },
    }
    message = {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": list(ROLES)},
            "content": _optional({"oneOf": [{"type": "string"}, {"type": "array", "items": part}]}),
            "name": _optional({"type": "string"}),
            "tool_call_id": _optional({"type": "string"}),
            "tool_calls": _optional({"type": "array", "items": {"type": "object"}}),
        },
    }
    properties: dict[str, Any] = {
        "model": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "minItems": 1, "items": message},
        "stream": _optional({"type": "boolean"}),
        "stream_options": _optional(
            {"type": "object", "properties": {"include_usage": _optional({"type": "boolean"})}}
        ),
        "models": _optional({"type": "array", "items": {"type": "string", "minLength": 1}}),
        "stop": _optional(
            {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "maxItems": 4},
                ]
            }
        ),
        "tools": _optional({"type": "array", "items": {"type": "object"}}),
        "tool_choice": _optional({"oneOf": [{"type": "string"}, {"type": "object"}]}),
        "response_format": _optional({"type": "object"}),
        "provider": _optional({"type": "object"}),
    }
    for name, (kind, low, high) in SCALARS.items():
        schema: dict[str, Any] = {"type": SCALAR_TYPES[kind]}
        if low is not None:
            schema["minimum"] = low
        if high is not None:
            schema["maximum"] = high
        properties[name] = _optional(schema)
    return {"type": "object", "required": ["model", "messages"], "properties": properties}


# One event of a streamed chat answer (on OpenAPI 3.0 the `schema` of text/event-stream is read
# per event, as 3.2's itemSchema): no `event:` line, so every event is a "message".
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "A chat.completion.chunk as one line of JSON, an error object after "
            "the stream started, or [DONE] last.",
        },
        "event": {"type": "string", "enum": ["message"]},
    },
}


def _image_generation_body() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string"},
            "model": _optional({"type": "string", "maxLength": 300}),
            "n": _optional({"type": "integer", "minimum": 1, "maximum": MAX_IMAGES}),
            "size": _optional({"type": "string", "maxLength": 16}),
            "response_format": _optional({"type": "string", "enum": ["url", "b64_json"]}),
            "quality": _optional({"type": "string", "maxLength": 16}),
            "style": _optional({"type": "string", "maxLength": 16}),
        },
    }


def _analyze_body(*, multipart: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "prompt": {"type": "string"},
        "model": _optional({"type": "string", "maxLength": 300}),
        "max_tokens": _optional({"type": "integer", "minimum": 1}),
    }
    if multipart:
        properties["file"] = {"type": "string", "format": "binary"}
        return {"type": "object", "required": ["prompt", "file"], "properties": properties}
    properties["image_url"] = {
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string", "minLength": 1}},
            },
        ]
    }
    return {"type": "object", "required": ["prompt", "image_url"], "properties": properties}


def _speech_body() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string", "maxLength": 300},
            "input": {"type": "string"},
            "voice": _optional({"type": "string", "maxLength": 64}),
            "response_format": _optional({"type": "string", "enum": list(FORMAT_TYPES)}),
            "speed": _optional({"type": "number", "minimum": 0.25, "maximum": 4}),
            "instructions": _optional({"type": "string", "maxLength": 4096}),
        },
    }


def _request_bodies() -> dict[str, dict[str, Any]]:
    return {
        "/v1/chat/completions": {"application/json": _chat_body()},
        "/v1/images/generations": {"application/json": _image_generation_body()},
        "/v1/images/analyze": {
            "application/json": _analyze_body(multipart=False),
            "multipart/form-data": _analyze_body(multipart=True),
        },
        "/v1/audio/speech": {"application/json": _speech_body()},
    }


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    bodies = _request_bodies()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"]["default"] = {
                "description": "An error, in the one /v1 error envelope.",
                "content": {"application/json": {"schema": ENVELOPE_REF}},
            }
            if method == "post" and path in bodies:
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        media: {"schema": schema} for media, schema in bodies[path].items()
                    },
                }
    image_file = result.get("paths", {}).get("/v1/files/images/{name}", {}).get("get")
    for parameter in (image_file or {}).get("parameters", []):
        if parameter.get("name") == "name":
            parameter["schema"] = {"type": "string", "pattern": f"^{NAME.pattern}$"}
    chat = result.get("paths", {}).get("/v1/chat/completions", {}).get("post")
    if chat:
        chat["responses"]["200"]["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    return result

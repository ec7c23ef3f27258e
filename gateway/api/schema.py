"""OpenAPI post-processing: the error envelope as one shared component, and the chat stream.

The request bodies come from the serializers that validate them (gateway.api.chat_request,
gateway.api.media_input). Every /v1 operation answers errors with the envelope (`default`
response), and its content is JSON whatever the status.
"""

from typing import Any

from gateway.media.images import NAME

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


# One event of a streamed Responses answer: named (`event:` is its `type`), as OpenAI sends them.
RESPONSES_SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "description": "The event's type, e.g. response.created."},
        "data": {
            "type": "string",
            "description": "A ResponseStreamEvent as one line of JSON, with its sequence_number.",
        },
    },
}


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"]["default"] = {
                "description": "An error, in the one /v1 error envelope.",
                "content": {"application/json": {"schema": ENVELOPE_REF}},
            }
    image_file = result.get("paths", {}).get("/v1/files/images/{name}", {}).get("get")
    for parameter in (image_file or {}).get("parameters", []):
        if parameter.get("name") == "name":
            parameter["schema"] = {"type": "string", "pattern": f"^{NAME.pattern}$"}
    chat = result.get("paths", {}).get("/v1/chat/completions", {}).get("post")
    if chat:
        chat["responses"]["200"]["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    responses = result.get("paths", {}).get("/v1/responses", {}).get("post")
    if responses:
        responses["responses"]["200"]["content"]["text/event-stream"] = {
            "schema": RESPONSES_SSE_EVENT
        }
    return result

"""OpenAPI post-processing: the error envelope as one shared component, the answers of the
OpenAI routes as OpenAI's own schemas, and the chat stream.

The request bodies come from the serializers that validate them (gateway.api.chat_request,
gateway.api.media_input). Every /v1 operation answers errors with the envelope (`default`
response), and its content is JSON whatever the status. The answers of the OpenAI routes are
OpenAI's published schemas (gateway.api.openai_schemas) with the fields OpenProvider adds, so
the document shows the real bodies and schemathesis checks them.
"""

from typing import Any

from gateway.api.openai_schemas import openai_components, openai_ref
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
            "description": "A chat.completion.chunk (OpenAI's CreateChatCompletionStreamResponse, "
            "#/components/schemas/OpenAICreateChatCompletionStreamResponse; a text_completion "
            "chunk on /v1/completions) as one line of JSON, an error object after the stream "
            "started, or [DONE] last.",
        },
        "event": {"type": "string", "enum": ["message"]},
    },
}


STRING = {"type": "string"}
NULLABLE_INT = {"type": "integer", "nullable": True}


def _with(base: str, properties: dict[str, Any], description: str) -> dict[str, Any]:
    """OpenAI's schema `base` plus the fields OpenProvider adds."""
    extra = {"type": "object", "properties": properties}
    return {"description": description, "allOf": [openai_ref(base), extra]}


MODEL_ENTRY = _with(
    "Model",
    {
        "name": STRING,
        "description": STRING,
        "category": STRING,
        "provider": STRING,
        "context_length": NULLABLE_INT,
        "max_output_tokens": NULLABLE_INT,
        "capabilities": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "voices": {"type": "array", "items": STRING},
        "free_evidence": STRING,
        "working": {"type": "boolean"},
        "pricing": {"type": "object", "additionalProperties": STRING},
        "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "OpenAI's Model plus the catalog's fields (see the operation's description).",
)
USAGE_COUNTS = {
    "type": "object",
    "properties": {
        name: NULLABLE_INT for name in ("prompt_tokens", "completion_tokens", "total_tokens")
    },
}
GENERATION = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "object",
            "description": "One request-log row; never the prompt or the answer.",
            "properties": {
                "id": STRING,
                "object": {"type": "string", "enum": ["generation"]},
                "created": {"type": "integer"},
                "finished": NULLABLE_INT,
                "endpoint": STRING,
                "source": STRING,
                "requested_model": STRING,
                "model": {"type": "string", "nullable": True},
                "provider": {"type": "string", "nullable": True},
                "status": STRING,
                "http_status": NULLABLE_INT,
                "error_code": {"type": "string", "nullable": True},
                "streamed": {"type": "boolean"},
                "latency_ms": NULLABLE_INT,
                "ttft_ms": NULLABLE_INT,
                "usage": USAGE_COUNTS,
                "usage_estimated": {
                    "type": "boolean",
                    "description": "The upstream reported no usage: OpenProvider counted the "
                    "tokens with a tokenizer (o200k_base).",
                },
                "attempts": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
IMAGE_ANALYSIS = {
    "type": "object",
    "required": ["id", "object", "created", "model", "provider", "output_text"],
    "properties": {
        "id": STRING,
        "object": {"type": "string", "enum": ["image.analysis"]},
        "created": {"type": "integer"},
        "model": STRING,
        "provider": STRING,
        "output_text": STRING,
        "usage": {"allOf": [openai_ref("CompletionUsage")], "nullable": True},
    },
}
OWN_SCHEMAS: dict[str, Any] = {
    "ChatCompletion": _with(
        "CreateChatCompletionResponse",
        {"provider": STRING},
        "OpenAI's chat completion; `model` is the model that served, `provider` its provider; "
        "a message may carry the model's `reasoning`.",
    ),
    "ModelEntry": MODEL_ENTRY,
    "ModelList": _with(
        "ListModelsResponse",
        {"data": {"type": "array", "items": {"$ref": "#/components/schemas/ModelEntry"}}},
        "OpenAI's model list; each entry is a ModelEntry.",
    ),
    "ImagesAnswer": _with(
        "ImagesResponse",
        {"model": STRING, "provider": STRING},
        "OpenAI's images response plus the model and provider that served.",
    ),
    "ImageAnalysis": IMAGE_ANALYSIS,
    "Generation": GENERATION,
}
OPENAI_SCHEMAS = {
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "ListModelsResponse",
    "Model",
    "ImagesResponse",
    "CompletionUsage",
}
# (path, method) -> the component its 200 JSON answer is.
ANSWERS = {
    ("/v1/chat/completions", "post"): "ChatCompletion",
    ("/v1/models", "get"): "ModelList",
    ("/v1/models/{model_id}", "get"): "ModelEntry",
    ("/v1/images/generations", "post"): "ImagesAnswer",
    ("/v1/images/analyze", "post"): "ImageAnalysis",
    ("/v1/generation", "get"): "Generation",
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
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE
    schemas.update(openai_components(OPENAI_SCHEMAS))
    schemas.update(OWN_SCHEMAS)
    for (path, method), name in ANSWERS.items():
        operation = result.get("paths", {}).get(path, {}).get(method)
        if operation:
            ok = operation["responses"].setdefault("200", {"description": ""})
            ok.setdefault("content", {})["application/json"] = {
                "schema": {"$ref": f"#/components/schemas/{name}"}
            }
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
    for path in ("/v1/chat/completions", "/v1/completions"):
        streamed = result.get("paths", {}).get(path, {}).get("post")
        if streamed:
            streamed["responses"]["200"]["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    responses = result.get("paths", {}).get("/v1/responses", {}).get("post")
    if responses:
        responses["responses"]["200"]["content"]["text/event-stream"] = {
            "schema": RESPONSES_SSE_EVENT
        }
    return result

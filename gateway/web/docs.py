"""Home and Docs: the getting-started path, the /v1 reference from the OpenAPI schema, and the
interactive request builder (its workflows are data passed to static/js/docs.js; the playground's
text panel is the same builder over the text workflows)."""

import json
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Workspace
from catalog.selectors import AUTO_FREE_ID, active_models
from gateway.api.errors import envelope
from gateway.chat.conversations import conversation_list
from providers.models import ProviderCredential

from .common import page, workspace_of

METHODS = ("get", "post", "put", "patch", "delete")
SAMPLE_IMAGE_URL = "https://upload.wikimedia.org/wikipedia/commons/3/3f/JPEG_example_flower.jpg"
SPEECH_MODEL = "openprovider/auto-free"

# Each workflow: how the builder sends it (`form`: json, or multipart with `file` as the upload
# field), how it shows the answer (`result`), and the openai SDK call of the Python snippet
# (`python`: the client method, or "" for a route the SDK has no method for, sent with
# client.post / client.get; `python_print`: what the snippet prints).
WORKFLOWS: list[dict[str, Any]] = [
    {
        "id": "chat",
        "label": "Chat",
        "method": "POST",
        "path": "/v1/chat/completions",
        "result": "json",
        "body": {
            "model": AUTO_FREE_ID,
            "messages": [{"role": "user", "content": "Say hello in five words."}],
        },
        "python": "chat.completions.create",
        "python_print": "reply.choices[0].message.content",
    },
    {
        "id": "completions",
        "label": "Text completion (legacy)",
        "method": "POST",
        "path": "/v1/completions",
        "result": "json",
        "text": True,
        "body": {
            "model": AUTO_FREE_ID,
            "prompt": "Once upon a time",
            "max_tokens": 32,
            "stream": False,
        },
        "python": "completions.create",
        "python_print": "reply.choices[0].text",
    },
    {
        "id": "responses",
        "label": "Responses",
        "method": "POST",
        "path": "/v1/responses",
        "result": "json",
        "text": True,
        "body": {
            "model": AUTO_FREE_ID,
            "input": "Name three primary colours.",
            "instructions": "Answer in one short line.",
            "stream": False,
        },
        "python": "responses.create",
        "python_print": "reply.output_text",
    },
    {
        "id": "embeddings",
        "label": "Embeddings",
        "method": "POST",
        "path": "/v1/embeddings",
        "result": "json",
        "text": True,
        "body": {"model": AUTO_FREE_ID, "input": "OpenProvider routes to free models."},
        "python": "embeddings.create",
        "python_print": "len(reply.data[0].embedding)",
    },
    {
        "id": "transcription",
        "label": "Transcription",
        "method": "POST",
        "path": "/v1/audio/transcriptions",
        "result": "json",
        "text": True,
        "form": "multipart",
        "file": "file",
        "file_name": "speech.wav",
        "body": {"model": AUTO_FREE_ID, "response_format": "json"},
        "python": "audio.transcriptions.create",
        "python_print": "reply",
    },
    {
        "id": "image-generation",
        "label": "Image generation",
        "method": "POST",
        "path": "/v1/images/generations",
        "result": "image",
        "body": {"model": AUTO_FREE_ID, "prompt": "A lighthouse at dawn, watercolor", "n": 1},
        "python": "images.generate",
        "python_print": "reply.data[0].url",
    },
    {
        "id": "image-analysis",
        "label": "Image analysis",
        "method": "POST",
        "path": "/v1/images/analyze",
        "result": "json",
        "body": {
            "model": AUTO_FREE_ID,
            "prompt": "What is in this picture?",
            "image_url": SAMPLE_IMAGE_URL,
        },
        "python": "",
        "python_print": "reply.json()",
    },
    {
        "id": "speech",
        "label": "Speech",
        "method": "POST",
        "path": "/v1/audio/speech",
        "result": "audio",
        "body": {"model": SPEECH_MODEL, "input": "Hello from OpenProvider.", "voice": "alloy"},
        "python": "audio.speech.create",
        "python_print": "",
    },
    {
        "id": "models",
        "label": "Models",
        "method": "GET",
        "path": "/v1/models",
        "result": "json",
        "python": "models.list",
        "python_print": "[model.id for model in reply]",
    },
    {
        "id": "provider-status",
        "label": "Provider status",
        "method": "GET",
        "path": "/v1/providers/status",
        "result": "json",
        "python": "",
        "python_print": "reply.json()",
    },
]
TEXT_WORKFLOWS = [w for w in WORKFLOWS if w.get("text")]  # the playground's text panel

ERROR_EXAMPLE = envelope(
    "No free model of this workspace is called 'groq/nope'.",
    type="not_found_error",
    code="model_not_found",
    param="model",
)
STATUS_CODES = [
    (
        400,
        "invalid_request_error",
        "The request is invalid, the model is of another category, or it is known not to "
        "support `tools` / `response_format`, or its provider cannot honour a parameter as "
        "sent, such as `n` > 1 (code `unsupported_parameter`).",
    ),
    (
        401,
        "authentication_error",
        "The key is missing (`missing_api_key`), invalid or revoked (`invalid_api_key`).",
    ),
    (404, "not_found_error", "The model is not in this workspace's free catalog."),
    (413, "invalid_request_error", "The request body is too large."),
    (429, "rate_limit_error", "Rate limited (your key's or every upstream); see Retry-After."),
    (502, "api_error", "Every candidate failed upstream; `attempts` says why."),
    (503, "api_error", "No free model is available for this workflow."),
    (504, "api_error", "The upstream provider timed out."),
]


def _first_line(text: str) -> tuple[str, str]:
    head, _, rest = (text or "").strip().partition("\n")
    return head.strip(), rest.strip()


def _operation(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    summary, details = _first_line(operation.get("summary") or operation.get("description", ""))
    return {
        "method": method.upper(),
        "path": path,
        "anchor": operation.get("operationId", f"{method}-{path}"),
        "summary": summary,
        "details": details,
        "parameters": [
            {
                "name": p.get("name", ""),
                "in": p.get("in", ""),
                "required": bool(p.get("required")),
                "description": p.get("description", ""),
            }
            for p in operation.get("parameters", [])
        ],
        "tags": operation.get("tags", []),
    }


@lru_cache(maxsize=1)
def api_reference() -> tuple[dict[str, Any], ...]:
    """Every /v1 operation of the OpenAPI schema, generated in-process (once per process)."""
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return tuple(
        _operation(path, method, operation)
        for path, operations in sorted(schema.get("paths", {}).items())
        for method, operation in operations.items()
        if method in METHODS
    )


def available_workflows(workflows: list[dict[str, Any]] = WORKFLOWS) -> list[dict[str, Any]]:
    """The builder's workflows, each marked with whether the route exists on this server."""
    routes = {(op["method"], op["path"]) for op in api_reference()}
    return [{**w, "available": (w["method"], w["path"]) in routes} for w in workflows]


STEPS = [
    ("Sign in", "accounts:signin", "Create an account; you get a personal workspace."),
    (
        "Connect providers",
        "account-providers",
        "Save the API key of one or more free-tier providers (encrypted on the server).",
    ),
    (
        "Check the catalog",
        "models",
        "OpenProvider syncs each provider's free models; see which ones work.",
    ),
    (
        "Create an API key",
        "accounts:keys",
        "Create an opk_live_ key and call /v1 with any OpenAI client.",
    ),
]


def getting_started(workspace: Workspace | None) -> list[dict[str, Any]]:
    """The path from an empty workspace to a working route, with progress when signed in."""
    done = [workspace is not None, False, False, False]
    if workspace is not None:
        done[1] = ProviderCredential.objects.filter(workspace=workspace).exists()
        done[2] = active_models(workspace_id=workspace.pk).exists()
        done[3] = workspace.api_keys.filter(revoked_at__isnull=True).exists()
    return [
        {"title": title, "url": url, "text": text, "done": finished}
        for (title, url, text), finished in zip(STEPS, done, strict=True)
    ]


def _workspace(request: HttpRequest) -> Workspace | None:
    return workspace_of(request) if request.user.is_authenticated else None


def home(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request)
    context = {
        "steps": getting_started(workspace),
        "recent": conversation_list(workspace=workspace)[:5] if workspace else [],
        "auto_free_id": AUTO_FREE_ID,
    }
    return page(request, "home.html", "home", context)


def docs(request: HttpRequest) -> HttpResponse:
    context = {
        "steps": getting_started(_workspace(request)),
        "operations": api_reference(),
        "workflows": available_workflows(),
        "error_example": json.dumps(ERROR_EXAMPLE, indent=2),
        "status_codes": STATUS_CODES,
        "auto_free_id": AUTO_FREE_ID,
    }
    return page(request, "docs.html", "docs", context)

"""Chat gateway fixtures: credentials, catalog rows and upstream payloads from real recordings."""

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from catalog.models import CatalogModel
from providers.models import ProviderCredential
from tests.catalog.factories import seed_model
from tests.conftest import provider_fixture

GROQ_KEY = "gsk_canaryGatewayGroq0123456789abcdef"
ALT_KEY = "alt-canary-gateway-key-0123456789"
GROQ_CHAT = "https://api.groq.com/openai/v1/chat/completions"
ALT_BASE = "https://alt.provider.test/v1"
ALT_CHAT = f"{ALT_BASE}/chat/completions"
CHAT_CAPS = {"tools": True, "structured_output": True, "streaming": True, "vision": False}
HELLO = [{"role": "user", "content": "Say hello"}]


def make_credential(workspace, provider: str, name: str, **fields: Any) -> ProviderCredential:
    defaults = {"api_key": GROQ_KEY if provider == "groq" else ALT_KEY, "key_hint": "cdef"}
    return ProviderCredential.objects.create(
        workspace=workspace, provider=provider, name=name, **{**defaults, **fields}
    )


def make_model(credential: ProviderCredential, upstream_id: str, **fields: Any) -> CatalogModel:
    """A working free text model with chat capabilities (tools, structured output, streaming)."""
    chat_defaults = {
        "context_length": 131072,
        "capabilities": dict(CHAT_CAPS),
        "free_evidence": "test",
    }
    return seed_model(credential, upstream_id, **{**chat_defaults, **fields})


@pytest.fixture
def write_behind(settings):
    """The request log's production mode, on a database the writer thread can see (committed
    rows); whatever a test left queued is written at its end."""
    from gateway.requestlog.services import request_log_flush
    from gateway.requestlog.writer import writer

    # A fresh writer thread: one started by an earlier test may be asleep for its long interval.
    writer._reset()
    settings.REQUEST_LOG_WRITE_BEHIND = True
    settings.REQUEST_LOG_FLUSH_SECONDS = 0.05
    yield
    request_log_flush()


@pytest.fixture
def groq(workspace) -> ProviderCredential:
    return make_credential(workspace, "groq", "groq")


@pytest.fixture
def alt(workspace) -> ProviderCredential:
    """A second provider: a custom OpenAI-compatible endpoint."""
    return make_credential(workspace, "custom", "relay", base_url=ALT_BASE)


@pytest.fixture
def groq_model(groq) -> CatalogModel:
    return make_model(groq, "llama-3.3-70b-versatile")


@pytest.fixture
def alt_model(alt) -> CatalogModel:
    return make_model(alt, "alt-chat")


@pytest.fixture
def vision_model(alt) -> CatalogModel:
    caps = {**CHAT_CAPS, "vision": True}
    return make_model(alt, "alt-vision", category="vision", capabilities=caps)


def groq_completion(**message: Any) -> dict[str, Any]:
    """The recorded Groq completion, with the message fields a test overrides."""
    body = provider_fixture("groq/chat_completion.json")
    body["choices"][0]["message"].update(message)
    return body


def sse(chunks: list[Any]) -> bytes:
    """An upstream SSE body from chunk dicts (or raw strings)."""
    lines = [c if isinstance(c, str) else json.dumps(c) for c in chunks]
    return "".join(f"data: {line}\n\n" for line in lines).encode()


def add_stream(mock: responses.RequestsMock, url: str, body: bytes, status: int = 200) -> None:
    mock.add(responses.POST, url, body=body, status=status, content_type="text/event-stream")


def sse_events(body: bytes) -> list[str]:
    """The `data:` payloads and comments a client receives, in order."""
    return [event for event in body.decode().split("\n\n") if event]


def data_events(body: bytes) -> list[Any]:
    events = []
    for event in sse_events(body):
        if event.startswith("data: "):
            data = event.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def sent_bodies(mock: responses.RequestsMock, url: str) -> list[dict[str, Any]]:
    return [json.loads(call.request.body) for call in mock.calls if call.request.url == url]


@pytest.fixture
def chat_call(workspace, created_key) -> Callable[..., Any]:
    """Call the chat service as the /v1 view does, with a fresh request id."""
    from gateway.chat.service import chat_complete, chat_stream
    from gateway.middleware import new_request_id

    def call(payload: dict[str, Any], **overrides: Any) -> Any:
        kwargs = {
            "workspace": workspace,
            "api_key": created_key.api_key,
            "request_id": new_request_id(),
            "payload": payload,
            **overrides,
        }
        service = chat_stream if payload.get("stream") else chat_complete
        return service(**kwargs)

    return call

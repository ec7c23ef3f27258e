"""Helpers for adapter tests: build adapters from the registry, replay recorded payloads."""

import ast
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import responses

from providers.adapter import OpenAICompatibleAdapter
from providers.errors import ProviderError
from providers.registry import PROVIDERS
from tests.conftest import provider_fixture

CANARY = "sk-canary-0123456789abcdefSECRET"


def make_adapter(slug: str, *, api_key: str = CANARY, **kwargs: str) -> OpenAICompatibleAdapter:
    spec = PROVIDERS[slug]
    return spec.adapter(spec, api_key=api_key, **kwargs)


def fixture(name: str) -> Any:
    return provider_fixture(name)


def json5_fixture(name: str) -> Any:
    """The Ollama docs publish /api/show as JSON5; its subset here is a Python literal once
    comments are dropped and bare keys quoted (no json5 dependency needed)."""
    source = provider_fixture(name).decode()
    source = re.sub(r"//[^\n]*", "", source)
    source = re.sub(r"^(\s*)([A-Za-z_]\w*):", r'\1"\2":', source, flags=re.MULTILINE)
    return ast.literal_eval(source)


def sent_header(call: Any, name: str) -> str | None:
    return call.request.headers.get(name)


def assert_key_in_header_only(call: Any, header: str = "Authorization", key: str = CANARY) -> None:
    """The key travels in a header and never in the URL."""
    assert key in (call.request.headers.get(header) or "")
    assert key not in call.request.url


def sse(name: str) -> bytes:
    body = provider_fixture(name)
    assert isinstance(body, bytes)
    return body


def register_stream(mock: responses.RequestsMock, url: str, body: bytes) -> None:
    mock.post(url, body=body, status=200, content_type="text/event-stream")


def ids(models: list[Any]) -> set[str]:
    return {m.upstream_id for m in models}


def free_ids(models: list[Any]) -> set[str]:
    return {m.upstream_id for m in models if m.free}


def by_id(models: Any) -> dict[str, Any]:
    return {m.upstream_id: m for m in models}


ChatError = Callable[..., ProviderError]


@pytest.fixture
def chat_error(http_mock: responses.RequestsMock) -> ChatError:
    """chat_error(adapter, status, body): the ProviderError a chat call raises on that answer."""

    def raised(
        adapter: OpenAICompatibleAdapter,
        status: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        model: str = "m",
    ) -> ProviderError:
        url = adapter.url(adapter.chat_path)
        http_mock.post(url, status=status, json=body, headers=headers)
        with pytest.raises(ProviderError) as caught:
            adapter.chat({"model": model, "messages": []})
        return caught.value

    return raised


@pytest.fixture
def chat_payload() -> dict[str, Any]:
    return {"model": "some-model", "messages": [{"role": "user", "content": "hi"}]}


def dumps(value: Any) -> str:
    return json.dumps(value)

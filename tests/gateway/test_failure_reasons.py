"""When every candidate fails, the error says why each one did; a fallback list with an id that
cannot serve does not fail a request whose primary model can."""

import socket

import pytest
import requests
import responses

from providers.errors import ProviderError
from providers.registry import adapter_for
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    GROQ_KEY,
    HELLO,
    groq_completion,
    make_credential,
    make_model,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def refused_model(workspace, closed_port, settings):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    credential = make_credential(
        workspace, "custom", "homelab", base_url=f"http://127.0.0.1:{closed_port}/v1"
    )
    return make_model(credential, "local-llama")


def test_the_502_names_each_attempts_model_provider_and_reason(
    api_client, groq_model, refused_model, http_mock
):
    http_mock.add(
        responses.POST,
        GROQ_CHAT,
        status=503,
        json={"error": {"message": f"overloaded, key {GROQ_KEY} at https://x.test/?key=abc123"}},
    )

    response = api_client.post(
        "/v1/chat/completions",
        {"model": groq_model.public_id, "models": [refused_model.public_id], "messages": HELLO},
        format="json",
    )

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert error["message"] == (
        "Every candidate failed upstream (2 attempts: "
        f"{groq_model.public_id} via groq: HTTP 503; "
        f"{refused_model.public_id} via homelab: could not connect to upstream: "
        "connection refused)."
    )
    assert GROQ_KEY not in response.content.decode()
    assert "abc123" not in response.content.decode()


def test_a_timeout_is_named_as_one(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, body=requests.ReadTimeout())

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )

    assert response.status_code == 504
    assert response.json()["error"]["message"] == (
        f"The upstream provider timed out (1 attempt: {groq_model.public_id} via groq: timeout)."
    )


def test_a_refused_connection_is_named_by_the_adapter(refused_model):
    adapter = adapter_for(refused_model.credential)

    with pytest.raises(ProviderError) as raised:
        adapter.chat({"model": "local-llama", "messages": HELLO})

    assert raised.value.kind == "connection"
    assert raised.value.message == "could not connect to upstream: connection refused"


def test_an_unknown_host_is_named_without_its_url(workspace, http_mock):
    http_mock.add(
        responses.POST,
        "https://gpu.example.test/v1/chat/completions",
        body=requests.ConnectionError(socket.gaierror(-2, "Name or service not known")),
    )
    credential = make_credential(workspace, "custom", "gpu", base_url="https://gpu.example.test/v1")

    with pytest.raises(ProviderError) as raised:
        adapter_for(credential).chat({"model": "m", "messages": HELLO})

    assert raised.value.message == "could not connect to upstream: host not found"


def test_an_unknown_fallback_id_is_skipped(api_client, groq_model, alt_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=503)
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion(content="from the fallback"))

    response = api_client.post(
        "/v1/chat/completions",
        {
            "model": groq_model.public_id,
            "models": ["nobody/no-such-model", alt_model.public_id],
            "messages": HELLO,
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "from the fallback"
    assert response["x-openprovider-model"] == alt_model.public_id


def test_fallbacks_that_cannot_serve_chat_leave_the_primary_alone(
    api_client, groq_model, alt, http_mock
):
    image = make_model(alt, "alt-image", category="image")
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="primary"))

    response = api_client.post(
        "/v1/chat/completions",
        {"model": groq_model.public_id, "models": ["gone/x", image.public_id], "messages": HELLO},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "primary"


def test_an_unknown_primary_model_is_still_a_404(api_client, alt_model, http_mock):
    response = api_client.post(
        "/v1/chat/completions",
        {"model": "nobody/no-such-model", "models": [alt_model.public_id], "messages": HELLO},
        format="json",
    )

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "model"
    assert len(http_mock.calls) == 0

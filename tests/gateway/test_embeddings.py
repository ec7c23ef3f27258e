"""POST /v1/embeddings: the openai SDK against live_server, upstream replayed by `responses`.

Upstream answers follow each provider's documented shape: OpenAI's list of embedding objects
(Mistral, Cloudflare's and custom servers' OpenAI-compatible /embeddings) and Gemini's native
batchEmbedContents `{"embeddings": [{"values": [...]}]}`.
"""

import base64
import json
import struct
from collections.abc import Iterator

import openai
import pytest
import responses

from gateway.models import RequestLog
from tests.gateway.conftest import GROQ_CHAT, groq_completion
from tests.gateway.media_support import GEMINI_NATIVE, credential, json_sent, media_model

pytestmark = pytest.mark.django_db(transaction=True)

MISTRAL_EMBEDDINGS = "https://api.mistral.ai/v1/embeddings"
RELAY_BASE = "https://embed.relay.test/v1"
VECTORS = [[0.0123, -0.5, 0.25], [1.5, 0.0, -0.125]]


def openai_list(vectors, model="mistral-embed", prompt_tokens=9):
    """OpenAI's (and Mistral's) embeddings answer."""
    return {
        "id": "embd-aad6fc62b17349b192ef09225058bc45",
        "object": "list",
        "data": [
            {"object": "embedding", "embedding": vector, "index": index}
            for index, vector in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


@pytest.fixture
def mistral_embed(workspace):
    return media_model(credential(workspace, "mistral"), "mistral-embed", "embedding")


@pytest.fixture
def relay_embed(workspace):
    cred = credential(workspace, "custom", "relay", base_url=RELAY_BASE)
    return media_model(cred, "nomic-embed-text", "embedding")


def test_the_sdk_gets_one_vector_per_input_in_its_default_base64_encoding(
    client, mistral_embed, http_mock
):
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, json=openai_list(VECTORS))

    raw = client.embeddings.with_raw_response.create(
        model=mistral_embed.public_id, input=["first text", "second text"]
    )
    result = raw.parse()

    for item, expected in zip(result.data, VECTORS, strict=True):
        assert item.embedding == pytest.approx(expected, rel=1e-6)
    assert [item.index for item in result.data] == [0, 1]
    assert result.model == mistral_embed.public_id
    assert result.usage.prompt_tokens == 9
    assert raw.headers["x-openprovider-provider"] == "mistral"
    assert json_sent(http_mock) == {
        "model": "mistral-embed",
        "input": ["first text", "second text"],
    }
    log = RequestLog.objects.get(pk=raw.headers["x-request-id"])
    assert (log.endpoint, log.status, log.served_model) == (
        "embeddings",
        "success",
        mistral_embed.public_id,
    )


def test_float_encoding_returns_lists_and_base64_is_little_endian_float32(
    api_client, mistral_embed, http_mock
):
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, json=openai_list(VECTORS[:1]))
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, json=openai_list(VECTORS[:1]))
    body = {"model": mistral_embed.public_id, "input": "one text"}

    floats = api_client.post("/v1/embeddings", {**body, "encoding_format": "float"}, format="json")
    packed = api_client.post("/v1/embeddings", {**body, "encoding_format": "base64"}, format="json")

    assert floats.json()["data"][0]["embedding"] == VECTORS[0]
    decoded = struct.unpack("<3f", base64.b64decode(packed.json()["data"][0]["embedding"]))
    assert list(decoded) == pytest.approx(VECTORS[0], rel=1e-6)
    assert json_sent(http_mock)["input"] == ["one text"]


def test_auto_free_picks_an_embedding_model_never_a_chat_model(
    api_client, groq_model, mistral_embed, http_mock
):
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, json=openai_list(VECTORS[:1]))

    response = api_client.post(
        "/v1/embeddings",
        {"model": "text-embedding-3-small", "input": "hello"},  # OpenAI's name: any free model
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["model"] == mistral_embed.public_id
    assert [call.request.url for call in http_mock.calls] == [MISTRAL_EMBEDDINGS]


def test_chat_never_routes_to_an_embedding_model(api_client, mistral_embed, http_mock):
    messages = [{"role": "user", "content": "hi"}]

    exact = api_client.post(
        "/v1/chat/completions",
        {"model": mistral_embed.public_id, "messages": messages},
        format="json",
    )
    auto = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": messages},
        format="json",
    )

    assert (exact.status_code, exact.json()["error"]["code"]) == (400, "model_category_mismatch")
    assert (auto.status_code, auto.json()["error"]["code"]) == (503, "no_available_model")
    assert not http_mock.calls


def test_a_chat_model_on_the_embeddings_route_is_a_category_mismatch(
    api_client, groq_model, http_mock
):
    exact = api_client.post(
        "/v1/embeddings", {"model": groq_model.public_id, "input": "hi"}, format="json"
    )
    auto = api_client.post(
        "/v1/embeddings", {"model": "openprovider/auto-free", "input": "hi"}, format="json"
    )

    assert (exact.status_code, exact.json()["error"]["code"]) == (400, "model_category_mismatch")
    assert "/v1/embeddings needs an embedding model" in exact.json()["error"]["message"]
    assert (auto.status_code, auto.json()["error"]["code"]) == (503, "no_available_model")
    assert not http_mock.calls


def test_a_rate_limited_route_falls_back_to_the_next_embedding_model(
    client, mistral_embed, relay_embed, http_mock
):
    http_mock.add(
        responses.POST,
        MISTRAL_EMBEDDINGS,
        status=429,
        json={"object": "error", "message": "Rate limit exceeded", "type": "rate_limited"},
    )
    http_mock.add(
        responses.POST, f"{RELAY_BASE}/embeddings", json=openai_list(VECTORS[:1], "nomic")
    )

    # untried routes tie on health: auto-free tries them by public id, mistral/… first
    raw = client.embeddings.with_raw_response.create(
        model="openprovider/auto-free", input="hello", encoding_format="float"
    )
    result = raw.parse()

    assert result.data[0].embedding == VECTORS[0]
    assert result.model == relay_embed.public_id
    attempts = RequestLog.objects.get(pk=raw.headers["x-request-id"]).attempts
    assert [(a["model"], a["status"]) for a in attempts] == [
        (mistral_embed.public_id, "rate_limited"),
        (relay_embed.public_id, "ok"),
    ]


def test_when_every_embedding_route_fails_each_attempt_is_named(
    api_client, mistral_embed, relay_embed, http_mock
):
    http_mock.add(responses.POST, f"{RELAY_BASE}/embeddings", status=503)
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, status=503)

    response = api_client.post(
        "/v1/embeddings", {"model": "openprovider/auto-free", "input": "hi"}, format="json"
    )

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert {a["model"] for a in error["attempts"]} == {
        mistral_embed.public_id,
        relay_embed.public_id,
    }
    log = RequestLog.objects.get(pk=response["x-request-id"])
    assert (log.endpoint, log.status, log.http_status) == ("embeddings", "error", 502)


def test_gemini_embeds_through_batch_embed_contents(api_client, workspace, http_mock):
    model = media_model(credential(workspace, "gemini"), "gemini-embedding-001", "embedding")
    url = f"{GEMINI_NATIVE}gemini-embedding-001:batchEmbedContents"
    http_mock.add(responses.POST, url, json={"embeddings": [{"values": v} for v in VECTORS]})

    response = api_client.post(
        "/v1/embeddings",
        {"model": model.public_id, "input": ["a", "b"], "dimensions": 3},
        format="json",
    )

    assert response.status_code == 200
    assert [row["embedding"] for row in response.json()["data"]] == VECTORS
    assert response.json()["usage"] == {"prompt_tokens": 2, "total_tokens": 2}  # estimated
    request = http_mock.calls[0].request
    assert "x-goog-api-key" in request.headers
    assert "Authorization" not in request.headers
    assert json.loads(request.body) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "outputDimensionality": 3,
                "content": {"parts": [{"text": text}]},
            }
            for text in ("a", "b")
        ]
    }


def test_token_arrays_are_forwarded_to_openai_compatible_servers(
    api_client, relay_embed, http_mock
):
    http_mock.add(responses.POST, f"{RELAY_BASE}/embeddings", json=openai_list(VECTORS))

    response = api_client.post(
        "/v1/embeddings",
        {"model": relay_embed.public_id, "input": [[15339, 1917], [9906]]},
        format="json",
    )

    assert response.status_code == 200
    assert json_sent(http_mock)["input"] == [[15339, 1917], [9906]]


def test_a_wrong_number_of_vectors_is_an_invalid_response(api_client, mistral_embed, http_mock):
    http_mock.add(responses.POST, MISTRAL_EMBEDDINGS, json=openai_list(VECTORS[:1]))

    response = api_client.post(
        "/v1/embeddings", {"model": mistral_embed.public_id, "input": ["a", "b"]}, format="json"
    )

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"


@pytest.mark.parametrize(
    "body",
    [
        {"input": []},
        {"input": ["ok", ""]},
        {"input": ["text", [1, 2]]},
        {"input": {"text": "hi"}},
        {"input": "hi", "encoding_format": "int8"},
        {"input": "hi", "dimensions": 0},
    ],
)
def test_bad_input_is_a_400_naming_the_param(api_client, mistral_embed, http_mock, body):
    response = api_client.post(
        "/v1/embeddings", {"model": mistral_embed.public_id, **body}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] in {"input", "encoding_format", "dimensions"}
    assert not http_mock.calls


def test_chat_still_serves_chat_models_beside_embedding_models(
    api_client, groq_model, mistral_embed, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hi!"))

    response = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": [{"role": "user", "content": "hi"}]},
        format="json",
    )

    assert response.json()["model"] == groq_model.public_id

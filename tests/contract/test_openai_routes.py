"""Every /v1 answer OpenProvider gives on an OpenAI route conforms to OpenAI's published schema.

Real provider payloads are replayed through a custom OpenAI-compatible provider (the relay), so
what is judged is the gateway's normalized answer: JSON bodies, every stream chunk (with and
without the usage chunk), every error envelope, images and speech.
"""

import json

import pytest
import responses

from tests.conftest import provider_fixture
from tests.contract.openai_spec import assert_response_matches, assert_stream_matches, sse_data
from tests.gateway.conftest import ALT_BASE, sse
from tests.hardening.conftest import ROUTES, mock_relay, valid_body

pytestmark = pytest.mark.django_db

RELAY_CHAT = f"{ALT_BASE}/chat/completions"
COMPLETIONS = [
    "groq/chat_completion.json",
    "groq/chat_completion_kimi.json",
    "cerebras/chat_completion.json",
    "mistral/chat_completion.json",
    "mistral/chat_completion_small.json",
    "huggingface/chat_completion_vision.json",
    "ollama/openai_compat_chat_completion.json",
    "openrouter/chat_completion_free_model.json",
    "gemini/openai_compat_chat_completion.json",
]
STREAMS = [
    "groq/chat_stream.sse",
    "huggingface/chat_stream.sse",
    "mistral/chat_stream.sse",
    "openrouter/chat_stream_models_fallback.sse",
    "groq/chat_stream_chunks.jsonl",
    "mistral/chat_stream_chunks.jsonl",
]
# Generated image files are capability URLs, served without a key.
KEYED_ROUTES = [route for route in ROUTES if route.name != "v1-image-file-detail"]
FAILING_STREAMS = [
    "groq/chat_stream_midstream_error_event.sse",
    "openrouter/chat_stream_free_model_midstream_error.sse",
]


def stream_body(name: str) -> bytes:
    raw = provider_fixture(name)
    if name.endswith(".jsonl"):
        return sse([json.loads(line) for line in raw.decode().splitlines() if line] + ["[DONE]"])
    return raw


def chat(client, catalog, **body):
    payload = {"model": catalog["text"].public_id, "messages": [{"role": "user", "content": "Hi"}]}
    response = client.post("/v1/chat/completions", {**payload, **body}, format="json")
    if response.streaming:
        response.content_bytes = b"".join(response.streaming_content)
        response.streaming_content = iter([response.content_bytes])
    return response


@pytest.mark.parametrize("name", COMPLETIONS)
def test_a_completion_conforms_whatever_the_upstream(api_client, catalog, http_mock, name):
    http_mock.add(responses.POST, RELAY_CHAT, json=provider_fixture(name))

    response = chat(api_client, catalog)

    assert response.status_code == 200
    assert_response_matches(response, "POST", "/chat/completions")


@pytest.mark.parametrize("include_usage", [True, False], ids=["usage", "no-usage"])
@pytest.mark.parametrize("name", STREAMS)
def test_every_stream_chunk_conforms(api_client, catalog, http_mock, name, include_usage):
    http_mock.add(
        responses.POST, RELAY_CHAT, body=stream_body(name), content_type="text/event-stream"
    )
    options = {"stream_options": {"include_usage": True}} if include_usage else {}

    response = chat(api_client, catalog, stream=True, **options)

    assert response["Content-Type"] == "text/event-stream"
    assert_response_matches(response, "POST", "/chat/completions")
    chunks = sse_data(response.content_bytes)[:-1]
    assert len(chunks) > 1
    assert all("system_fingerprint" not in chunk or chunk["system_fingerprint"] for chunk in chunks)
    usage_chunks = [chunk for chunk in chunks if chunk.get("usage")]
    assert len(usage_chunks) == (1 if include_usage else 0)


@pytest.mark.parametrize("name", FAILING_STREAMS)
def test_a_failing_stream_conforms_as_an_error_or_an_error_event(
    api_client, catalog, http_mock, name
):
    http_mock.add(
        responses.POST, RELAY_CHAT, body=stream_body(name), content_type="text/event-stream"
    )

    response = chat(api_client, catalog, stream=True)

    assert_response_matches(response, "POST", "/chat/completions")
    if response.status_code == 200:  # the failure came after the first content
        assert "error" in sse_data(response.content_bytes)[-2]


def test_models_list_and_each_model_conform(api_client, catalog):
    listing = api_client.get("/v1/models")

    assert_response_matches(listing, "GET", "/models")
    for model in listing.json()["data"]:
        assert_response_matches(
            api_client.get(f"/v1/models/{model['id']}"), "GET", "/models/{model}"
        )


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
def test_an_image_generation_conforms(
    api_client, catalog, http_mock, settings, tmp_path, response_format
):
    settings.MEDIA_ROOT = str(tmp_path)
    mock_relay(http_mock)
    body = {**valid_body("v1-images-generations", catalog), "response_format": response_format}

    response = api_client.post("/v1/images/generations", body, format="json")

    assert response.status_code == 200
    assert_response_matches(response, "POST", "/images/generations")


def test_speech_is_a_binary_audio_answer(api_client, catalog, http_mock):
    mock_relay(http_mock)

    response = api_client.post(
        "/v1/audio/speech", valid_body("v1-audio-speech", catalog), format="json"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert_response_matches(response, "POST", "/audio/speech")


# ---- every error path answers an OpenAI ErrorResponse ------------------------------------------
def assert_error(response, status: int) -> None:
    assert response.status_code == status
    assert_response_matches(response, "POST", "/chat/completions")  # errors: any operation


@pytest.mark.parametrize("route", KEYED_ROUTES, ids=str)
def test_a_missing_key_is_an_openai_error_on_every_route(client, route):
    assert_error(getattr(client, route.method.lower())(route.path), 401)


@pytest.mark.parametrize("route", KEYED_ROUTES, ids=str)
def test_an_unknown_key_is_an_openai_error_on_every_route(client, route):
    headers = {"Authorization": "Bearer opk_live_" + "x" * 43}
    assert_error(getattr(client, route.method.lower())(route.path, headers=headers), 401)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"messages": []}, 400),
        ({"temperature": 9}, 400),
        ({"model": "nobody/nothing"}, 404),
        ({"model": None, "models": None}, 400),
    ],
)
def test_an_invalid_chat_request_is_an_openai_error(api_client, catalog, body, status):
    assert_error(chat(api_client, catalog, **body), status)


def test_a_wrong_category_unknown_route_and_wrong_method_are_openai_errors(api_client, catalog):
    wrong_category = {"model": catalog["speech"].public_id, "prompt": "a red square"}

    assert_error(api_client.post("/v1/images/generations", wrong_category, format="json"), 400)
    assert_error(api_client.post("/v1/no/such/route", {}, format="json"), 404)
    assert_error(api_client.delete("/v1/chat/completions"), 405)
    assert_error(api_client.get("/v1/models/nobody/nothing"), 404)


def test_upstream_failures_are_openai_errors(api_client, catalog, http_mock):
    http_mock.add(responses.POST, RELAY_CHAT, status=500, json={})
    assert_error(chat(api_client, catalog), 502)
    assert_error(chat(api_client, catalog, stream=True), 502)

    http_mock.add(
        responses.POST, RELAY_CHAT, status=429, json=provider_fixture("groq/error_429.json")
    )
    assert_error(chat(api_client, catalog), 429)


def test_the_per_key_limit_is_an_openai_error(api_client, created_key, catalog, http_mock):
    created_key.api_key.rpm_limit = 1
    created_key.api_key.save()
    mock_relay(http_mock)

    assert chat(api_client, catalog).status_code == 200
    assert_error(chat(api_client, catalog), 429)


def test_a_mid_stream_failure_event_is_an_openai_error(api_client, catalog, http_mock):
    first = json.loads(provider_fixture("groq/chat_stream_chunks.jsonl").decode().splitlines()[1])
    body = sse([first, {"error": {"message": "overloaded", "code": 503}}])
    http_mock.add(responses.POST, RELAY_CHAT, body=body, content_type="text/event-stream")

    response = chat(api_client, catalog, stream=True)

    assert response.status_code == 200
    events = assert_stream_matches("CreateChatCompletionStreamResponse", response.content_bytes)
    assert set(events[-2]) == {"error"}
    assert events[-1] == "[DONE]"

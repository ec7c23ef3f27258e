"""Embeddings, transcriptions, legacy completions and the Responses API answer OpenAI's published
schemas: JSON bodies, every stream event, stored responses and their input items.

Two answers the spec does not describe are checked as OpenAI's own API gives them: a base64
embedding (the spec types `embedding` as an array only, while the API and the SDKs send and
expect a base64 string for `encoding_format: base64`), and a streamed legacy completion (the spec
gives POST /completions no event stream: each chunk is judged as a CreateCompletionResponse,
whose `finish_reason` is null until the last chunk, as OpenAI streams it).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.contract.openai_spec import assert_response_matches, spec_errors, sse_data
from tests.fakeprovider import tiny_wav
from tests.hardening.conftest import mock_relay

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay(http_mock):
    mock_relay(http_mock)
    return http_mock


def drained(response):
    if response.streaming:
        response.content_bytes = b"".join(response.streaming_content)
        response.streaming_content = iter([response.content_bytes])
    return response


def test_embeddings_conform(api_client, catalog, relay):
    body = {"model": catalog["embedding"].public_id, "input": ["a", "b"]}
    response = api_client.post(
        "/v1/embeddings", {**body, "encoding_format": "float"}, format="json"
    )

    assert response.status_code == 200
    assert_response_matches(response, "POST", "/embeddings")


@pytest.mark.parametrize("response_format", ["json", "verbose_json"])
def test_transcriptions_conform(api_client, catalog, relay, response_format):
    audio = SimpleUploadedFile("hello.wav", tiny_wav(), content_type="audio/wav")
    body = {
        "model": catalog["transcription"].public_id,
        "file": audio,
        "response_format": response_format,
    }
    response = api_client.post("/v1/audio/transcriptions", body, format="multipart")

    assert response.status_code == 200
    assert_response_matches(response, "POST", "/audio/transcriptions")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_legacy_completions_conform(api_client, catalog, relay, stream):
    body = {"model": catalog["text"].public_id, "prompt": "Say hello", "stream": stream}
    response = drained(api_client.post("/v1/completions", body, format="json"))

    assert response.status_code == 200
    if stream:
        chunks = [c for c in sse_data(response.content_bytes) if c != "[DONE]"]
        assert chunks
        assert all(chunk["object"] == "text_completion" for chunk in chunks)
        for chunk in chunks:  # OpenAI's own chunks carry finish_reason null until the last
            errors = spec_errors("CreateCompletionResponse", chunk)
            assert [e for e in errors if "finish_reason" not in e] == [], errors
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    else:
        assert_response_matches(response, "POST", "/completions")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_responses_conform_and_so_do_their_stored_copies(api_client, catalog, relay, stream):
    body = {"model": catalog["text"].public_id, "input": "Say hello", "stream": stream}
    created = drained(api_client.post("/v1/responses", body, format="json"))

    assert created.status_code == 200
    assert_response_matches(created, "POST", "/responses")
    if stream:
        return
    response_id = created.json()["id"]
    stored = api_client.get(f"/v1/responses/{response_id}")
    items = api_client.get(f"/v1/responses/{response_id}/input_items")
    deleted = api_client.delete(f"/v1/responses/{response_id}")
    assert_response_matches(stored, "GET", "/responses/{response_id}")
    assert_response_matches(items, "GET", "/responses/{response_id}/input_items")
    assert deleted.status_code == 200  # the spec gives the deletion no body; OpenAI's reference:
    assert deleted.json() == {"id": response_id, "object": "response.deleted", "deleted": True}

"""POST /v1/chat/completions and GET /v1/generation through the DRF stack."""

import json

import pytest
import responses
from rest_framework.test import APIClient

from accounts.services import api_key_create
from gateway.models import RequestLog
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    GROQ_KEY,
    HELLO,
    add_stream,
    data_events,
    groq_completion,
)

pytestmark = pytest.mark.django_db

URL = "/v1/chat/completions"
PROMPT_CANARY = "prompt-canary-7f3a9c"


def post(client: APIClient, payload: dict):
    return client.post(URL, payload, format="json")


def test_a_completion_carries_request_id_model_provider_and_ratelimit_headers(
    api_client, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    response = post(api_client, {"model": groq_model.public_id, "messages": HELLO})

    assert response.status_code == 200
    body = response.json()
    assert response["x-request-id"] == body["id"]
    assert response["x-openprovider-model"] == groq_model.public_id
    assert response["x-openprovider-provider"] == "groq"
    assert response["x-ratelimit-limit"] == "60"
    assert response["x-ratelimit-remaining"] == "59"
    assert 1 <= int(response["x-ratelimit-reset"]) <= 61  # the window plus its 1 s bucket


def test_a_stream_has_sse_headers_and_the_request_id_on_every_chunk(
    api_client, groq_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    response = post(api_client, {"model": groq_model.public_id, "messages": HELLO, "stream": True})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    assert not response.has_header("Content-Length")
    assert response["x-openprovider-model"] == groq_model.public_id
    assert response.has_header("x-ratelimit-remaining")
    events = data_events(b"".join(response.streaming_content))
    assert events[-1] == "[DONE]"
    assert {e["id"] for e in events[:-1]} == {response["x-request-id"]}


@pytest.mark.parametrize("accept", ["text/event-stream", "text/html", "application/xml"])
def test_any_accept_header_gets_the_stream_or_the_json_answer(
    api_client, groq_model, http_mock, accept
):
    # SSE client libraries send `Accept: text/event-stream`; OpenAI's API ignores Accept too
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    payload = {"model": groq_model.public_id, "messages": HELLO}

    streamed = api_client.post(URL, {**payload, "stream": True}, format="json", HTTP_ACCEPT=accept)
    plain = api_client.post(URL, payload, format="json", HTTP_ACCEPT=accept)
    unknown = api_client.post(
        URL, {**payload, "model": "no/such"}, format="json", HTTP_ACCEPT=accept
    )

    assert streamed.status_code == 200
    assert streamed["Content-Type"] == "text/event-stream"
    assert data_events(b"".join(streamed.streaming_content))[-1] == "[DONE]"
    assert plain.status_code == 200
    assert plain["Content-Type"] == "application/json"
    assert plain.json()["choices"][0]["message"]["content"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"


def test_a_stream_whose_candidates_all_fail_first_is_a_json_error_not_a_200(
    api_client, groq_model, alt_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream_midstream_error_event.sse"))
    http_mock.add(responses.POST, ALT_CHAT, status=500, json={})

    response = post(api_client, {"model": "auto", "messages": HELLO, "stream": True})

    assert response.status_code == 502
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "upstream_error"
    assert response.has_header("x-request-id")


def test_validation_errors_are_400_envelopes_naming_the_param(api_client, groq_model):
    response = post(
        api_client,
        {"model": groq_model.public_id, "messages": [{"role": "robot", "content": "x"}]},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].role"
    assert set(response.json()["error"]) >= {"message", "type", "code", "param"}


def test_unknown_params_are_ignored(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    response = post(
        api_client,
        {"model": groq_model.public_id, "messages": HELLO, "store": True, "frobnicate": 3},
    )

    assert response.status_code == 200


def test_unknown_model_is_a_404_envelope(api_client, groq_model):
    response = post(api_client, {"model": "groq/nope", "messages": HELLO})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_a_missing_key_is_401(groq_model):
    response = post(APIClient(), {"model": groq_model.public_id, "messages": HELLO})

    assert response.status_code == 401


def test_the_per_key_minute_limit_answers_429_with_headers(
    api_client, created_key, groq_model, http_mock
):
    created_key.api_key.rpm_limit = 2
    created_key.api_key.save()
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    payload = {"model": groq_model.public_id, "messages": HELLO}

    statuses = [post(api_client, payload).status_code for _ in range(2)]
    limited = post(api_client, payload)

    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["x-ratelimit-limit"] == "2"
    assert limited["x-ratelimit-remaining"] == "0"
    assert created_key.plaintext not in limited.content.decode()
    assert len(http_mock.calls) == 2


def test_prompts_and_completions_are_never_stored(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content=f"{PROMPT_CANARY}!"))
    http_mock.add(responses.POST, GROQ_CHAT, status=400, json={"error": {"message": "bad"}})
    payload = {
        "model": groq_model.public_id,
        "messages": [{"role": "user", "content": PROMPT_CANARY}],
    }

    post(api_client, payload)
    post(api_client, payload)

    rows = list(RequestLog.objects.values())
    assert len(rows) == 2
    assert PROMPT_CANARY not in json.dumps(rows, default=str)
    assert GROQ_KEY not in json.dumps(rows, default=str)


def test_generation_returns_the_callers_own_row(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    request_id = post(api_client, {"model": groq_model.public_id, "messages": HELLO})[
        "x-request-id"
    ]

    response = api_client.get("/v1/generation", {"id": request_id})

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == request_id
    assert data["model"] == groq_model.public_id
    assert data["provider"] == "groq"
    assert data["status"] == "success"
    assert data["usage"]["total_tokens"] == 652
    assert data["attempts"][0]["status"] == "ok"


def test_generation_of_another_workspace_or_unknown_is_404(
    api_client, groq_model, other_user, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    theirs = APIClient()
    their_key = api_key_create(workspace=other_user.workspace, name="b").plaintext
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {their_key}")
    request_id = post(api_client, {"model": groq_model.public_id, "messages": HELLO})[
        "x-request-id"
    ]

    other = theirs.get("/v1/generation", {"id": request_id})
    unknown = api_client.get("/v1/generation", {"id": "gen-unknown"})
    missing = api_client.get("/v1/generation")

    assert other.status_code == 404
    assert other.json()["error"]["code"] == "generation_not_found"
    assert unknown.status_code == 404
    assert missing.status_code == 400

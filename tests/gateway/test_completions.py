"""POST /v1/completions: the legacy route, served by the chat workflow (recorded Groq answers).

The real openai SDK is the client (live_server); upstream chat calls are replayed by `responses`.
"""

import json
from collections.abc import Iterator

import openai
import pytest
import responses

from gateway.models import RequestLog
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    add_stream,
    groq_completion,
    sent_bodies,
)

pytestmark = pytest.mark.django_db(transaction=True)

GROQ_TEXT = "The tool returned the expected result for the valid call."  # groq/chat_stream.sse


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


def test_a_prompt_is_answered_as_a_text_completion(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Paris."))

    raw = client.completions.with_raw_response.create(
        model=groq_model.public_id, prompt="The capital of France is", max_tokens=5
    )
    completion = raw.parse()

    assert completion.object == "text_completion"
    assert completion.choices[0].text == "Paris."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == groq_model.public_id
    assert completion.id == raw.headers["x-request-id"]
    assert completion.usage.total_tokens == 652
    (sent,) = sent_bodies(http_mock, GROQ_CHAT)
    assert sent["messages"] == [{"role": "user", "content": "The capital of France is"}]
    assert sent["max_completion_tokens"] == 5  # Groq's name for the limit (providers.params)
    log = RequestLog.objects.get(pk=completion.id)
    assert (log.endpoint, log.status, log.served_model) == (
        "completions",
        "success",
        groq_model.public_id,
    )


def test_a_streamed_completion_sends_text_completion_chunks(client, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    chunks = list(
        client.completions.create(
            model=groq_model.public_id,
            prompt="Say something",
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert {c.object for c in chunks} == {"text_completion"}
    assert "".join(c.choices[0].text for c in chunks if c.choices) == GROQ_TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert [c.usage.total_tokens for c in chunks if c.usage] == [397]
    assert all(c.choices[0].text or c.choices[0].finish_reason for c in chunks if c.choices)


def test_the_auto_route_falls_back_to_the_next_chat_model(client, groq_model, alt_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=503, json={"error": {"message": "down"}})
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion(content="From the relay."))

    completion = client.completions.create(model="openprovider/auto-free", prompt="Hi")

    assert completion.choices[0].text == "From the relay."
    assert completion.model == alt_model.public_id
    attempts = RequestLog.objects.get(pk=completion.id).attempts
    assert [a["status"] for a in attempts] == ["upstream", "ok"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"echo": True}, "echo"),
        ({"suffix": "}"}, "suffix"),
        ({"best_of": 3}, "best_of"),
        ({"logprobs": 2}, "logprobs"),
        ({"prompt": [[15339, 1917]]}, "prompt"),
        ({"prompt": ["one", "two"]}, "prompt"),
    ],
)
def test_what_a_chat_model_cannot_do_is_refused_and_logged(
    api_client, groq_model, http_mock, extra, param
):
    body = {"model": groq_model.public_id, "prompt": "Hi", **extra}

    response = api_client.post("/v1/completions", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("unsupported_parameter", param)
    assert not http_mock.calls
    log = RequestLog.objects.get(pk=response["x-request-id"])
    assert (log.endpoint, log.http_status) == ("completions", 400)


def test_a_missing_prompt_and_bad_sampling_values_name_their_param(api_client, groq_model):
    missing = api_client.post("/v1/completions", {"model": groq_model.public_id}, format="json")
    hot = api_client.post(
        "/v1/completions",
        {"model": groq_model.public_id, "prompt": "Hi", "temperature": 3},
        format="json",
    )

    assert missing.status_code == hot.status_code == 400
    assert missing.json()["error"]["param"] == "prompt"
    assert hot.json()["error"]["param"] == "temperature"


def test_the_keys_rate_limit_counts_legacy_completions(
    api_client, created_key, groq_model, http_mock
):
    created_key.api_key.rpm_limit = 1
    created_key.api_key.save()
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="ok"))
    body = {"model": groq_model.public_id, "prompt": "Hi"}

    first = api_client.post("/v1/completions", body, format="json")
    second = api_client.post("/v1/completions", body, format="json")

    assert first.status_code == 200
    assert first["x-ratelimit-limit"] == "1"
    assert json.loads(first.content)["choices"][0]["text"] == "ok"
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    assert len(http_mock.calls) == 1

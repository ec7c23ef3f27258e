"""Routes that serve /responses themselves get the request untranslated (a recorded OpenAI
Responses answer and stream stand for the upstream)."""

import json
from collections.abc import Iterator

import openai
import pytest
import responses

from gateway.models import RequestLog, StoredResponse
from gateway.responses.passthrough import serves_responses
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_BASE,
    CHAT_CAPS,
    GROQ_CHAT,
    add_stream,
    groq_completion,
    make_credential,
    make_model,
    sent_bodies,
)

pytestmark = pytest.mark.django_db(transaction=True)

ALT_RESPONSES = f"{ALT_BASE}/responses"


def recorded_stream_of(lines: list[str]) -> bytes:
    """Recorded events (one JSON per line) framed as the upstream sends them."""
    return "".join(
        f"event: {json.loads(line)['type']}\ndata: {line}\n\n" for line in lines
    ).encode()


def recorded_stream() -> bytes:
    return recorded_stream_of(
        provider_fixture("openai/responses_stream_events.jsonl").decode().splitlines()
    )


@pytest.fixture
def native_model(alt):
    return make_model(alt, "alt-native", capabilities={**CHAT_CAPS, "responses": True})


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


def test_the_registry_or_the_model_decides(workspace, groq_model, native_model):
    ollama = make_credential(workspace, "ollama", "ollama", api_key="")
    local = make_model(ollama, "llama3.2")
    opted_out = make_model(ollama, "qwen3", capabilities={**CHAT_CAPS, "responses": False})

    assert serves_responses(local)
    assert serves_responses(native_model)
    assert not serves_responses(opted_out)
    assert not serves_responses(groq_model)


def test_a_response_is_relayed_untranslated(client, native_model, http_mock):
    http_mock.add(
        responses.POST, ALT_RESPONSES, json=provider_fixture("openai/responses_create.json")
    )

    raw = client.responses.with_raw_response.create(
        model=native_model.public_id,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Say OK"}]}],
        instructions="Be brief.",
        metadata={"run": "7"},
        extra_body={"models": [native_model.public_id]},
    )
    response = raw.parse()

    assert response.output_text == "OK"
    assert response.id.startswith("resp_")
    assert response.id != "resp_sanitized_normal"
    assert response.model == native_model.public_id
    assert response.metadata == {"run": "7"}
    assert response.text.verbosity == "medium"  # the upstream's own fields pass through
    (sent,) = sent_bodies(http_mock, ALT_RESPONSES)
    assert sent == {
        "model": "alt-native",
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say OK"}],
            }
        ],
        "instructions": "Be brief.",
        "metadata": {"run": "7"},
        "store": False,
    }
    log = RequestLog.objects.get(id=raw.headers["x-request-id"])
    assert (log.endpoint, log.total_tokens) == ("responses", 14)
    assert StoredResponse.objects.get(id=response.id).body["output"][0]["id"] == (
        "msg_sanitized_normal"
    )


def test_a_stored_conversation_is_inlined_for_the_upstream(client, native_model, http_mock):
    http_mock.add(
        responses.POST, ALT_RESPONSES, json=provider_fixture("openai/responses_create.json")
    )
    http_mock.add(
        responses.POST, ALT_RESPONSES, json=provider_fixture("openai/responses_create.json")
    )

    first = client.responses.create(model=native_model.public_id, input="Say OK")
    client.responses.create(
        model=native_model.public_id, input="Again", previous_response_id=first.id
    )

    sent = sent_bodies(http_mock, ALT_RESPONSES)[1]
    assert "previous_response_id" not in sent
    assert [item.get("content") for item in sent["input"]] == [
        [{"type": "input_text", "text": "Say OK"}],
        [{"type": "output_text", "annotations": [], "logprobs": [], "text": "OK"}],
        "Again",
    ]


def test_a_stream_is_relayed_with_this_gateways_ids(client, native_model, http_mock):
    add_stream(http_mock, ALT_RESPONSES, recorded_stream())

    events = list(
        client.responses.create(model=native_model.public_id, input="Say OK", stream=True)
    )

    assert [e.type for e in events] == [
        json.loads(line)["type"]
        for line in provider_fixture("openai/responses_stream_events.jsonl").decode().splitlines()
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.output_text == "OK"
    assert final.model == native_model.public_id
    assert {events[0].response.id, final.id} == {final.id}
    assert StoredResponse.objects.get(id=final.id).body["usage"]["total_tokens"] == 14
    assert sent_bodies(http_mock, ALT_RESPONSES)[0]["stream"] is True


def test_a_failing_native_route_falls_back_to_a_translated_one(
    client, native_model, groq_model, http_mock
):
    http_mock.add(responses.POST, ALT_RESPONSES, status=503, json={})
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hi from chat."))

    response = client.responses.create(
        model=native_model.public_id,
        input="hi",
        extra_body={"models": [native_model.public_id, groq_model.public_id]},
    )

    assert response.output_text == "Hi from chat."
    assert response.model == groq_model.public_id


def test_a_native_stream_failing_after_content_ends_with_response_failed(
    client, native_model, http_mock
):
    lines = provider_fixture("openai/responses_stream_events.jsonl").decode().splitlines()[:5]
    error = {"type": "error", "code": "server_error", "message": "boom", "param": None}
    body = recorded_stream_of([*lines, json.dumps(error)])
    add_stream(http_mock, ALT_RESPONSES, body)

    events = list(client.responses.create(model=native_model.public_id, input="hi", stream=True))

    assert [e.type for e in events][-3:] == [
        "response.output_text.delta",
        "error",
        "response.failed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.status == "failed"
    assert events[-1].response.model == native_model.public_id
    assert not StoredResponse.objects.exists()
    assert RequestLog.objects.get().status == "partial"


def test_a_native_stream_failing_before_content_falls_back(
    client, native_model, groq_model, http_mock
):
    lines = provider_fixture("openai/responses_stream_events.jsonl").decode().splitlines()[:2]
    add_stream(http_mock, ALT_RESPONSES, recorded_stream_of(lines))  # ends before any content
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    events = list(
        client.responses.create(
            model=native_model.public_id,
            input="hi",
            stream=True,
            extra_body={"models": [native_model.public_id, groq_model.public_id]},
        )
    )

    assert events[-1].response.model == groq_model.public_id
    assert events[-1].type == "response.completed"

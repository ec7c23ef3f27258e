"""The real openai SDK against live_server; upstream replayed by `responses` in-process.

openai 3.x speaks httpx2, so `responses` only intercepts the gateway's own upstream calls.
"""

import json
from collections.abc import Iterator

import openai
import pytest
import responses

from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    HELLO,
    add_stream,
    groq_completion,
    make_model,
    sse,
)

pytestmark = pytest.mark.django_db(transaction=True)

GROQ_TEXT = "The tool returned the expected result for the valid call."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    # Closed after each test, so no kept-alive connection outlives the live server's DB sharing.
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


def test_a_plain_completion(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hello there!"))

    raw = client.chat.completions.with_raw_response.create(
        model=groq_model.public_id, messages=HELLO
    )
    completion = raw.parse()

    assert completion.choices[0].message.content == "Hello there!"
    assert completion.model == groq_model.public_id
    assert completion.id == raw.headers["x-request-id"]
    assert raw.headers["x-openprovider-provider"] == "groq"
    assert completion.usage.total_tokens == 652


def test_a_streamed_completion_with_usage(client, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    chunks = list(
        client.chat.completions.create(
            model=groq_model.public_id,
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == GROQ_TEXT
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.usage.total_tokens for c in chunks if c.usage] == [397]
    assert {c.model for c in chunks} == {groq_model.public_id}


def test_the_stream_helper_accumulates_the_answer(client, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    with client.chat.completions.stream(model=groq_model.public_id, messages=HELLO) as stream:
        final = stream.get_final_completion()

    assert final.choices[0].message.content == GROQ_TEXT
    assert final.choices[0].finish_reason == "stop"


def test_tool_calls(client, groq_model, http_mock):
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    upstream = groq_completion(content=None, tool_calls=[call])
    upstream["choices"][0]["finish_reason"] = "tool_calls"
    http_mock.add(responses.POST, GROQ_CHAT, json=upstream)

    completion = client.chat.completions.create(
        model=groq_model.public_id, messages=HELLO, tools=[WEATHER_TOOL]
    )

    tool_call = completion.choices[0].message.tool_calls[0]
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_deltas(client, groq_model, http_mock):
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    deltas = [
        {"role": "assistant", "tool_calls": [first]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Oslo"}'}}]},
    ]
    upstream = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    upstream.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    add_stream(http_mock, GROQ_CHAT, sse([*upstream, "[DONE]"]))

    with client.chat.completions.stream(
        model=groq_model.public_id, messages=HELLO, tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()

    tool_call = final.choices[0].message.tool_calls[0]
    assert (tool_call.id, tool_call.function.name) == ("call_1", "get_weather")
    assert json.loads(tool_call.function.arguments) == {"city": "Oslo"}


def test_json_mode(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content='{"answer": 42}'))

    completion = client.chat.completions.create(
        model=groq_model.public_id,
        messages=HELLO,
        response_format={"type": "json_object"},
    )

    assert json.loads(completion.choices[0].message.content) == {"answer": 42}


def test_a_vision_message_goes_to_a_vision_model(client, groq_model, vision_model, http_mock):
    http_mock.add(
        responses.POST, ALT_CHAT, json=provider_fixture("huggingface/chat_completion_vision.json")
    )

    completion = client.chat.completions.create(
        model="openprovider/auto-free",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                ],
            }
        ],
    )

    assert completion.model == vision_model.public_id
    assert completion.choices[0].message.content


def test_a_bad_key_is_an_authentication_error(live_server, groq_model):
    with (
        openai.OpenAI(
            base_url=f"{live_server.url}/v1", api_key="opk_live_" + "x" * 43, max_retries=0
        ) as bad,
        pytest.raises(openai.AuthenticationError) as raised,
    ):
        bad.chat.completions.create(model=groq_model.public_id, messages=HELLO)

    assert raised.value.status_code == 401


def test_an_unknown_model_is_not_found(client, groq_model):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="groq/unknown", messages=HELLO)

    assert raised.value.code == "model_not_found"
    assert raised.value.request_id.startswith("gen-")


def test_an_invalid_request_is_a_bad_request_naming_the_param(client, groq_model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=groq_model.public_id, messages=[{"role": "robot", "content": "hi"}]
        )

    assert raised.value.param == "messages[0].role"


def test_every_upstream_rate_limited_is_a_rate_limit_error(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={}, headers={"retry-after": "5"})

    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model=groq_model.public_id, messages=HELLO)

    assert raised.value.response.headers["retry-after"] == "5"
    assert raised.value.code == "rate_limited_upstream"


def test_upstream_failure_is_an_internal_server_error(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=500, json={})

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=groq_model.public_id, messages=HELLO, stream=True)

    assert raised.value.status_code == 502


def test_no_available_model_is_a_503(client, groq, http_mock):
    make_model(groq, "text-only", capabilities={"tools": False})

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model="openprovider/auto-free", messages=HELLO, tools=[WEATHER_TOOL]
        )

    assert raised.value.status_code == 503
    assert raised.value.code == "no_available_model"

"""The real openai SDK's Responses API against live_server; upstream replayed by `responses`.

Upstreams speak chat completions (recorded Groq payloads); the gateway translates both ways.
"""

import json
from collections.abc import Iterator

import openai
import pytest
import responses
from pydantic import BaseModel

from gateway.models import RequestLog, StoredResponse
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    GROQ_CHAT,
    add_stream,
    groq_completion,
    sent_bodies,
    sse,
)

pytestmark = pytest.mark.django_db(transaction=True)

GROQ_TEXT = "The tool returned the expected result for the valid call."
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


def tool_call_completion(call_id: str, arguments: str) -> dict:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }
    body = groq_completion(content=None, tool_calls=[call])
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def test_a_plain_response(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hello there!"))

    raw = client.responses.with_raw_response.create(
        model=groq_model.public_id, input="Say hello", instructions="Be brief."
    )
    response = raw.parse()

    assert response.output_text == "Hello there!"
    assert response.status == "completed"
    assert response.model == groq_model.public_id
    assert response.id.startswith("resp_")
    assert response.instructions == "Be brief."
    assert response.usage.total_tokens == 652
    assert raw.headers["x-openprovider-provider"] == "groq"
    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    log = RequestLog.objects.get(id=raw.headers["x-request-id"])
    assert (log.endpoint, log.status, log.total_tokens) == ("responses", "success", 652)


def test_a_streamed_response_is_typed_events_with_reasoning(client, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    events = list(
        client.responses.create(model=groq_model.public_id, input="Say hello", stream=True)
    )

    kinds = [event.type for event in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == GROQ_TEXT
    done = [e for e in events if e.type == "response.output_text.done"]
    assert [e.text for e in done] == [GROQ_TEXT]
    final = events[-1].response
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].content[0].text.startswith("The user wants to test")
    assert final.output_text == GROQ_TEXT
    assert final.usage.total_tokens == 397
    assert sent_bodies(http_mock, GROQ_CHAT)[0]["stream_options"] == {"include_usage": True}


def test_the_stream_helper_accumulates_the_response(client, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    with client.responses.stream(model=groq_model.public_id, input="Say hello") as stream:
        final = stream.get_final_response()

    assert final.output_text == GROQ_TEXT
    assert StoredResponse.objects.get(id=final.id).body["output"][1]["content"][0]["text"] == (
        GROQ_TEXT
    )


def test_a_function_tool_loop_with_previous_response_id(client, groq_model, http_mock):
    http_mock.add(
        responses.POST, GROQ_CHAT, json=tool_call_completion("call_9", '{"city":"Paris"}')
    )
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="It is sunny in Paris."))

    first = client.responses.create(
        model=groq_model.public_id, input="Weather in Paris?", tools=[WEATHER_TOOL]
    )
    call = first.output[0]
    assert (call.type, call.name, call.call_id) == ("function_call", "get_weather", "call_9")
    assert json.loads(call.arguments) == {"city": "Paris"}
    second = client.responses.create(
        model=groq_model.public_id,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )

    assert second.output_text == "It is sunny in Paris."
    assert second.previous_response_id == first.id
    upstream = sent_bodies(http_mock, GROQ_CHAT)
    assert upstream[0]["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert upstream[1]["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
    ]


def test_a_streamed_function_call(client, groq_model, http_mock):
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    deltas = [
        {"role": "assistant", "tool_calls": [first]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
    ]
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    add_stream(http_mock, GROQ_CHAT, sse([*chunks, "[DONE]"]))

    events = list(
        client.responses.create(
            model=groq_model.public_id, input="Weather?", tools=[WEATHER_TOOL], stream=True
        )
    )

    argument_deltas = [
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    ]
    assert argument_deltas == ['{"city":', '"Oslo"}']
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert (done.name, done.arguments) == ("get_weather", '{"city":"Oslo"}')
    final = events[-1].response
    assert final.output[0].call_id == "call_1"
    assert final.output[0].status == "completed"


class Answer(BaseModel):
    answer: int


def test_text_format_json_schema(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content='{"answer": 42}'))

    parsed = client.responses.parse(model=groq_model.public_id, input="6 x 7?", text_format=Answer)

    assert parsed.output_parsed == Answer(answer=42)
    sent = sent_bodies(http_mock, GROQ_CHAT)[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Answer"
    assert sent["json_schema"]["schema"]["properties"] == {
        "answer": {"title": "Answer", "type": "integer"}
    }
    assert parsed.text.format.type == "json_schema"


def test_retrieve_delete_and_input_items(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hi!"))
    created = client.responses.create(
        model=groq_model.public_id,
        input=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": [{"type": "input_text", "text": "three"}]},
        ],
        metadata={"topic": "counting"},
    )

    retrieved = client.responses.retrieve(created.id)
    items = client.responses.input_items.list(created.id, order="asc", limit=2)
    rest = client.responses.input_items.list(created.id, order="asc", after=items.data[-1].id)
    newest_first = client.responses.input_items.list(created.id)
    client.responses.delete(created.id)

    assert retrieved.output_text == "Hi!"
    assert retrieved.metadata == {"topic": "counting"}
    assert [item.content[0].text for item in items.data] == ["one", "two"]
    assert items.has_more is True
    assert [item.content[0].text for item in rest.data] == ["three"]
    assert rest.has_more is False
    assert [item.content[0].text for item in newest_first.data] == ["three", "two", "one"]
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_another_workspace_gets_not_found(client, groq_model, http_mock, live_server, other_user):
    from accounts.services import api_key_create

    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hi!"))
    created = client.responses.create(model=groq_model.public_id, input="hello")
    other_key = api_key_create(workspace=other_user.workspace, name="other", created_by=other_user)

    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=other_key.plaintext, max_retries=0
    ) as other:
        for call in (
            lambda: other.responses.retrieve(created.id),
            lambda: other.responses.delete(created.id),
            lambda: other.responses.input_items.list(created.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        with pytest.raises(openai.NotFoundError) as raised:
            other.responses.create(
                model=groq_model.public_id, input="again", previous_response_id=created.id
            )

    assert raised.value.param == "previous_response_id"
    assert StoredResponse.objects.filter(id=created.id).exists()


def test_store_false_keeps_only_the_request_log_row(client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hi!"))

    raw = client.responses.with_raw_response.create(
        model=groq_model.public_id, input="a secret prompt", store=False
    )

    assert raw.parse().store is False
    assert not StoredResponse.objects.exists()
    assert RequestLog.objects.get(id=raw.headers["x-request-id"]).status == "success"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(raw.parse().id)


@pytest.mark.parametrize("tool", ["web_search", "file_search", "code_interpreter"])
def test_a_built_in_tool_is_unsupported(client, groq_model, tool):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model=groq_model.public_id, input="hi", tools=[WEATHER_TOOL, {"type": tool}]
        )

    assert raised.value.code == "unsupported_parameter"
    assert raised.value.param == "tools[1].type"
    assert tool in raised.value.message


def test_fallback_to_the_next_model_before_the_first_byte(client, groq_model, alt_model, http_mock):
    from tests.gateway.conftest import ALT_CHAT

    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={})
    add_stream(http_mock, ALT_CHAT, provider_fixture("groq/chat_stream.sse"))

    events = list(
        client.responses.create(
            model=groq_model.public_id,
            input="hi",
            stream=True,
            extra_body={"models": [groq_model.public_id, alt_model.public_id]},
        )
    )

    assert events[-1].response.model == alt_model.public_id
    assert events[-1].response.output_text == GROQ_TEXT

"""The OpenAI Agents SDK (Responses model) against live_server; upstream chat replayed by
`responses` from the recorded Groq completion."""

import asyncio

import pytest
import responses
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from tests.gateway.conftest import GROQ_CHAT, add_stream, groq_completion, sent_bodies, sse

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_tracing():
    set_tracing_disabled(True)  # the SDK would otherwise export traces to OpenAI


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def weather_agent(live_server, created_key, model_id: str) -> Agent:
    client = AsyncOpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    )
    return Agent(
        name="weather",
        instructions="Answer with the tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model=model_id, openai_client=client),
    )


def tool_call(arguments: str) -> dict:
    call = {
        "id": "call_7",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }
    body = groq_completion(content=None, tool_calls=[call])
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def test_an_agent_calls_its_tool_and_answers(live_server, created_key, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=tool_call('{"city":"Lima"}'))
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="It is sunny in Lima."))
    agent = weather_agent(live_server, created_key, groq_model.public_id)

    result = asyncio.run(Runner.run(agent, "Weather in Lima?"))

    assert result.final_output == "It is sunny in Lima."
    second = sent_bodies(http_mock, GROQ_CHAT)[1]["messages"]
    assert second[0] == {"role": "system", "content": "Answer with the tool."}
    assert second[2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert second[3] == {"role": "tool", "tool_call_id": "call_7", "content": "sunny in Lima"}


def test_a_streamed_agent_run(live_server, created_key, groq_model, http_mock):
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    call = {
        "index": 0,
        "id": "call_8",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    calls = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "tool_calls": [call]},
                    "finish_reason": None,
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        "[DONE]",
    ]
    text = [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"content": "Sunny in Oslo."}, "finish_reason": "stop"}
            ],
        },
        "[DONE]",
    ]
    add_stream(http_mock, GROQ_CHAT, sse(calls))
    add_stream(http_mock, GROQ_CHAT, sse(text))
    agent = weather_agent(live_server, created_key, groq_model.public_id)

    async def run() -> str:
        streamed = Runner.run_streamed(agent, "Weather in Oslo?")
        async for _ in streamed.stream_events():
            pass
        return str(streamed.final_output)

    assert asyncio.run(run()) == "Sunny in Oslo."
    assert sent_bodies(http_mock, GROQ_CHAT)[1]["messages"][-1]["content"] == "sunny in Oslo"

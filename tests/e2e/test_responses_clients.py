"""The Responses API end to end: live_server, a synced custom credential to the loopback fake
provider (real sockets both ways), and the real clients: the openai SDK and the Agents SDK."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from accounts.models import User
from accounts.services import api_key_create
from gateway.models import RequestLog, StoredResponse
from tests.e2e.conftest import PASSWORD, connect_fake

EMAIL = "responses@example.com"
FAKE_MODEL = "custom/fake/fake-chat"


@function_tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"noon in {city}"


@pytest.fixture
def api_key(live_server, transactional_db, fake_provider) -> str:
    user = User.objects.create_user(EMAIL, password=PASSWORD)
    connect_fake(EMAIL, fake_provider)
    return api_key_create(workspace=user.workspace, name="e2e", created_by=user).plaintext


def model_id() -> str:
    from catalog.models import CatalogModel

    return CatalogModel.objects.get(upstream_id="fake-chat").public_id


def test_the_openai_sdk_streams_and_continues_a_response(live_server, api_key, fake_provider):
    with openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key, max_retries=0) as sdk:
        with sdk.responses.stream(model=model_id(), input="Hi") as stream:
            first = stream.get_final_response()
        second = sdk.responses.create(
            model=model_id(), input="Again", previous_response_id=first.id
        )
        items = sdk.responses.input_items.list(second.id)

    assert first.output_text == "Hello from the fake provider."
    assert second.output_text == "Hello from the fake provider."
    assert [item.content[0].text for item in items.data] == ["Again"]
    chats = [r["body"] for r in fake_provider.requests if r["path"].endswith("/chat/completions")]
    assert [m["content"] for m in chats[-1]["messages"]] == [
        "Hi",
        "Hello from the fake provider.",
        "Again",
    ]
    assert StoredResponse.objects.count() == 2
    assert set(RequestLog.objects.values_list("endpoint", "status")) == {("responses", "success")}


def test_an_agent_with_a_function_tool_runs(live_server, api_key, fake_provider):
    set_tracing_disabled(True)  # the SDK would otherwise export traces to OpenAI
    client = openai.AsyncOpenAI(base_url=f"{live_server.url}/v1", api_key=api_key, max_retries=0)
    agent = Agent(
        name="clock",
        instructions="Tell the time.",
        tools=[get_time],
        model=OpenAIResponsesModel(model=model_id(), openai_client=client),
    )

    # Its own thread: the browser tests of this package keep an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(asyncio.run, Runner.run(agent, "Time in Oslo?")).result(60)

    assert result.final_output == "Hello from the fake provider."
    (chat,) = [r["body"] for r in fake_provider.requests if r["path"].endswith("/chat/completions")]
    assert chat["tools"][0]["function"]["name"] == "get_time"
    assert chat["messages"][0] == {"role": "system", "content": "Tell the time."}

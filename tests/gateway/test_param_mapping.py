"""OpenAI parameters reach each provider under the name it honours, or are refused with 400.

The table itself is tested in tests/providers/test_params.py; here the whole path: real clients
(LangChain's ChatOpenAI, the openai SDK) through the gateway to a provider.
"""

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import openai
import pytest
import responses
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    GROQ_CHAT,
    HELLO,
    add_stream,
    make_credential,
    make_model,
    sent_bodies,
)
from tests.loopback_provider import LoopbackProvider

pytestmark = pytest.mark.django_db(transaction=True)

MISTRAL_CHAT = "https://api.mistral.ai/v1/chat/completions"
UNLIMITED_TOKENS = 417  # what the server writes when no limit it honours is set


class MaxTokensOnlyServer(LoopbackProvider):
    """An OpenAI-compatible server that, like a llama.cpp server, honours `max_tokens` and
    ignores `max_completion_tokens`: it writes one word per allowed token."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._serve()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.bodies.append(body)
                tokens = body.get("max_tokens") or UNLIMITED_TOKENS
                data = json.dumps(_completion(body["model"], tokens)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _completion(model: str, tokens: int) -> dict[str, Any]:
    finish = "length" if tokens < UNLIMITED_TOKENS else "stop"
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": 1764296393,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(["word"] * tokens)},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9 + tokens},
    }


@pytest.fixture
def llama_server(workspace, settings) -> Iterator[tuple[MaxTokensOnlyServer, str]]:
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    with MaxTokensOnlyServer() as server:
        credential = make_credential(
            workspace, "custom", "homelab", api_key="", base_url=server.base_url
        )
        yield server, make_model(credential, "llama-3.2-3b").public_id


def test_langchain_max_tokens_is_honoured_by_a_server_that_reads_only_max_tokens(
    live_server, created_key, llama_server
):
    server, model = llama_server
    llm = ChatOpenAI(
        model=model,
        max_tokens=10,
        base_url=f"{live_server.url}/v1",
        api_key=created_key.plaintext,
        max_retries=0,
    )
    question = [HumanMessage("Count to a thousand.")]
    assert "max_completion_tokens" in llm._get_request_payload(question)  # what LangChain sends

    answer = llm.invoke(question)

    assert len(str(answer.content).split()) == 10
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 10
    assert server.bodies[0]["max_tokens"] == 10
    assert "max_completion_tokens" not in server.bodies[0]


def test_both_names_are_sent_as_one_and_max_completion_tokens_wins(
    live_server, created_key, llama_server
):
    server, model = llama_server
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as client:
        completion = client.chat.completions.create(
            model=model, messages=HELLO, max_tokens=50, max_completion_tokens=3
        )

    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3
    assert completion.choices[0].finish_reason == "length"
    assert server.bodies == [{"model": "llama-3.2-3b", "messages": HELLO, "max_tokens": 3}]


def test_a_parameter_the_provider_cannot_honour_is_a_400_naming_it(
    api_client, groq_model, http_mock
):
    response = api_client.post(
        "/v1/chat/completions",
        {"model": groq_model.public_id, "messages": HELLO, "n": 2},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "unsupported_parameter",
        "n",
    )
    assert error["message"].startswith(
        f"The provider of the model '{groq_model.public_id}' (Groq) cannot honour 'n' as sent."
    )
    assert len(http_mock.calls) == 0


def test_a_fallback_whose_provider_honours_the_parameter_serves_it(
    api_client, groq_model, workspace, http_mock
):
    """Groq answers one choice; the listed fallback (an OpenAI-compatible server) may answer n."""
    other = make_model(
        make_credential(workspace, "custom", "vllm", base_url="https://vllm.test/v1"), "m"
    )
    http_mock.add(responses.POST, "https://vllm.test/v1/chat/completions", json=_completion("m", 2))

    response = api_client.post(
        "/v1/chat/completions",
        {"model": groq_model.public_id, "models": [other.public_id], "messages": HELLO, "n": 2},
        format="json",
    )

    assert response.status_code == 200
    assert response["x-openprovider-model"] == other.public_id
    assert not sent_bodies(http_mock, GROQ_CHAT)


def test_n_of_one_is_dropped_for_a_provider_that_answers_one_choice(
    api_client, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=provider_fixture("groq/chat_completion.json"))

    response = api_client.post(
        "/v1/chat/completions",
        {"model": groq_model.public_id, "messages": HELLO, "n": 1, "max_tokens": 20},
        format="json",
    )

    assert response.status_code == 200
    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    assert "n" not in sent
    assert sent["max_completion_tokens"] == 20
    assert "max_tokens" not in sent


def test_mistral_gets_its_own_names_and_still_reports_stream_usage(
    live_server, created_key, workspace, http_mock
):
    """Mistral refuses `stream_options` and names the seed `random_seed`; its streams end with
    the usage anyway (the recorded stream), so include_usage is still answered from it."""
    model = make_model(make_credential(workspace, "mistral", "mistral"), "magistral-medium-latest")
    add_stream(http_mock, MISTRAL_CHAT, provider_fixture("mistral/chat_stream.sse"))

    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as client:
        chunks = list(
            client.chat.completions.create(
                model=model.public_id,
                messages=HELLO,
                stream=True,
                stream_options={"include_usage": True},
                seed=7,
                user="end-user-1",
            )
        )

    sent = sent_bodies(http_mock, MISTRAL_CHAT)[0]
    assert sent["random_seed"] == 7
    assert not {"seed", "stream_options", "user"} & set(sent)
    assert [c.usage.total_tokens for c in chunks if c.usage] == [242]


def test_auto_routing_skips_a_provider_that_cannot_honour_the_request(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(
        responses.POST, "https://alt.provider.test/v1/chat/completions", json=_completion("a", 2)
    )

    result = chat_call({"model": "openprovider/auto-free", "messages": HELLO, "n": 3})

    assert result.headers["x-openprovider-model"] == alt_model.public_id
    assert not sent_bodies(http_mock, GROQ_CHAT)


def test_auto_routing_says_when_no_provider_honours_the_request(api_client, groq_model, http_mock):
    response = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": HELLO, "logprobs": True},
        format="json",
    )

    assert response.status_code == 503
    assert "whose provider honours 'logprobs' as sent" in response.json()["error"]["message"]
    assert len(http_mock.calls) == 0

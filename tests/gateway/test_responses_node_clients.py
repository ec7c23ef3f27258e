"""The Vercel AI SDK's default OpenAI provider (`createOpenAI({baseURL, apiKey})(model)`, which
calls /v1/responses) against live_server, run by Node from tests/node (its lockfile pins `ai`,
`@ai-sdk/openai` and `zod`; `make node-deps` installs them). Upstream chat is replayed in-process
by `responses` from the recorded Groq payloads."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import responses

from tests.conftest import provider_fixture
from tests.gateway.conftest import GROQ_CHAT, add_stream, groq_completion, sent_bodies, sse

pytestmark = pytest.mark.django_db(transaction=True)

NODE_PROJECT = Path(__file__).resolve().parent.parent / "node"
SCRIPT = NODE_PROJECT / "vercel_ai.mjs"


def run_node(live_server, created_key, model: str, scenario: str) -> dict:
    assert shutil.which("node"), "Node 20+ is needed for the Node client tests"
    assert (NODE_PROJECT / "node_modules" / "ai").is_dir(), (
        "tests/node has no node_modules: run `make node-deps` (npm ci from the lockfile)"
    )
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "OPENPROVIDER_BASE_URL": f"{live_server.url}/v1",
        "OPENPROVIDER_API_KEY": created_key.plaintext,
        "OPENPROVIDER_MODEL": model,
    }
    done = subprocess.run(
        ["node", str(SCRIPT), scenario],
        cwd=NODE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_generate_text(live_server, created_key, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Hello there!"))

    result = run_node(live_server, created_key, groq_model.public_id, "generateText")

    assert result["text"] == "Hello there!"
    assert result["finishReason"] == "stop"
    assert result["usage"]["totalTokens"] == 652


def test_stream_text_with_a_tool_over_two_steps(live_server, created_key, groq_model, http_mock):
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    call = {
        "index": 0,
        "id": "call_5",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Lima"}'},
    }
    first_step = [
        {
            **base,
            "choices": [{"index": 0, "delta": {"content": "Checking."}, "finish_reason": None}],
        },
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        "[DONE]",
    ]
    add_stream(http_mock, GROQ_CHAT, sse(first_step))
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    result = run_node(live_server, created_key, groq_model.public_id, "streamText")

    assert result["steps"] == 2
    assert result["toolResults"] == ["sunny in Lima"]
    assert result["text"] == "The tool returned the expected result for the valid call."
    assert {"tool-call", "tool-result", "text-delta"} <= set(result["parts"]), result["parts"]
    second = sent_bodies(http_mock, GROQ_CHAT)[1]["messages"]
    assert second[-2]["content"] == "Checking."  # sent back by reference to the stored item
    assert second[-2]["tool_calls"][0]["function"]["name"] == "weather"
    assert second[-1] == {"role": "tool", "tool_call_id": "call_5", "content": "sunny in Lima"}


def test_generate_object(live_server, created_key, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content='{"answer": 42}'))

    result = run_node(live_server, created_key, groq_model.public_id, "generateObject")

    assert result["object"] == {"answer": 42}
    sent = sent_bodies(http_mock, GROQ_CHAT)[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"] == {"answer": {"type": "number"}}

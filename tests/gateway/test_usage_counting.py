"""Usage you can bill by: stream usage asked for where the provider takes it, otherwise counted
with o200k_base (vendored, never downloaded) and the request-log row marked usage_estimated."""

import hashlib
import json
import shutil

import pytest
import responses
import tiktoken_ext.openai_public

from gateway.models import RequestLog
from gateway.requestlog import tokens
from providers.registry import PROVIDERS
from tests.conftest import provider_fixture
from tests.contract.openai_spec import sse_data
from tests.gateway.conftest import (
    GROQ_CHAT,
    HELLO,
    add_stream,
    groq_completion,
    make_credential,
    make_model,
    sent_bodies,
    sse,
)

pytestmark = pytest.mark.django_db

MISTRAL_CHAT = "https://api.mistral.ai/v1/chat/completions"
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


@pytest.fixture
def magistral(workspace):
    return make_model(make_credential(workspace, "mistral", "mistral"), "magistral-medium-latest")


@pytest.fixture
def groq_model(workspace):
    return make_model(make_credential(workspace, "groq", "groq"), "llama-3.3-70b-versatile")


def recorded_mistral_stream() -> tuple[dict, list[dict], dict]:
    """A real Mistral exchange: the request, its chunks without usage, and the usage it sent."""
    request = provider_fixture("mistral/chat_stream.exchange.json")["request"]["body"]
    chunks = [c for c in sse_data(provider_fixture("mistral/chat_stream.sse")) if c != "[DONE]"]
    usage = next(chunk.pop("usage") for chunk in chunks if "usage" in chunk)
    return request, chunks, usage


def stream(api_client, model, messages, **body) -> tuple[list, RequestLog]:
    payload = {"model": model.public_id, "messages": messages, "stream": True, **body}
    response = api_client.post("/v1/chat/completions", payload, format="json")
    events = sse_data(b"".join(response.streaming_content))
    return events, RequestLog.objects.get(pk=response["x-request-id"])


def within(estimate: int, real: int, share: float = 0.10) -> bool:
    return abs(estimate - real) <= share * real


# ---- the tokenizer -----------------------------------------------------------------------------
def test_the_vendored_encoding_is_tiktokens_own_o200k_base(tmp_path, monkeypatch):
    """tiktoken's own o200k_base() reads a cache that holds our file (no download): same ranks,
    same pattern, same special tokens, same ids."""
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    shutil.copy(tokens.BPE_FILE, cache / hashlib.sha1(O200K_URL.encode()).hexdigest())  # noqa: S324
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))

    official = tiktoken_ext.openai_public.o200k_base()
    ours = tokens.encoding()

    assert ours._mergeable_ranks == official["mergeable_ranks"]
    assert ours._pat_str == official["pat_str"]
    assert ours._special_tokens == official["special_tokens"]
    assert ours.encode("hello world") == [24912, 2375]
    assert tokens.count_tokens("How do I cross the street?") == 7


def test_a_bpe_file_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    forged = tmp_path / "o200k_base.tiktoken"
    forged.write_bytes(tokens.BPE_FILE.read_bytes().replace(b"IQ== 0", b"IQ== 1"))
    monkeypatch.setattr(tokens, "BPE_FILE", forged)
    tokens.encoding.cache_clear()
    try:
        with pytest.raises(ValueError, match="not OpenAI's o200k_base"):
            tokens.encoding()
    finally:
        tokens.encoding.cache_clear()


def test_a_prompt_counts_text_roles_names_tool_calls_and_tools_with_openais_framing():
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "hello world"}], "name": "ada"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
    ]
    tools = [{"type": "function", "function": {"name": "f"}}]

    expected = (
        tokens.REPLY_PRIMING_TOKENS
        + 2 * tokens.TOKENS_PER_MESSAGE
        + tokens.count_tokens("user")
        + 2
        + tokens.TOKENS_PER_NAME
        + tokens.count_tokens("ada")
        + tokens.count_tokens("assistant")
        + tokens.count_tokens(json.dumps([call], separators=(",", ":")))
        + tokens.count_tokens(json.dumps(tools, separators=(",", ":")))
    )
    assert tokens.prompt_tokens(messages, tools) == expected


# ---- streams -----------------------------------------------------------------------------------
def test_a_stream_without_usage_logs_counted_tokens_close_to_the_upstreams_own(
    api_client, magistral, http_mock
):
    """Mistral's recorded stream for this exact request reported 10 + 232 = 242 tokens (what
    its non-streamed answer bills); replayed without that usage, the gateway counts them."""
    request, chunks, upstream_usage = recorded_mistral_stream()
    add_stream(http_mock, MISTRAL_CHAT, sse([*chunks, "[DONE]"]))

    events, log = stream(api_client, magistral, request["messages"])

    assert events[-1] == "[DONE]"
    assert log.usage_estimated is True
    assert (upstream_usage["completion_tokens"], upstream_usage["total_tokens"]) == (232, 242)
    assert within(log.completion_tokens, upstream_usage["completion_tokens"])
    assert within(log.total_tokens, upstream_usage["total_tokens"])
    assert log.prompt_tokens == tokens.prompt_tokens(request["messages"])
    assert log.total_tokens == log.prompt_tokens + log.completion_tokens


def test_the_same_stream_with_its_usage_logs_the_upstreams_numbers(
    api_client, magistral, http_mock
):
    add_stream(http_mock, MISTRAL_CHAT, provider_fixture("mistral/chat_stream.sse"))

    _, log = stream(api_client, magistral, [{"role": "user", "content": "How do I cross?"}])

    assert log.usage_estimated is False
    assert (log.prompt_tokens, log.completion_tokens, log.total_tokens) == (10, 232, 242)


def test_mistral_is_never_sent_stream_options_yet_the_client_gets_a_usage_chunk(
    api_client, magistral, http_mock
):
    request, chunks, _ = recorded_mistral_stream()
    add_stream(http_mock, MISTRAL_CHAT, sse([*chunks, "[DONE]"]))

    events, log = stream(
        api_client, magistral, request["messages"], stream_options={"include_usage": True}
    )

    assert "stream_options" not in sent_bodies(http_mock, MISTRAL_CHAT)[0]  # Mistral: 422
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == log.total_tokens
    assert log.usage_estimated is True


def test_a_provider_that_takes_stream_options_is_always_asked_for_usage(
    api_client, groq_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    events, log = stream(api_client, groq_model, HELLO)

    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    assert sent["stream_options"] == {"include_usage": True}
    assert not any(isinstance(e, dict) and e.get("usage") for e in events)  # client did not ask
    assert (log.prompt_tokens, log.completion_tokens, log.usage_estimated) == (339, 58, False)


def test_every_registry_row_says_whether_it_takes_stream_options():
    flags = {slug: spec.stream_usage for slug, spec in PROVIDERS.items()}

    assert all(isinstance(flag, bool) for flag in flags.values())
    assert flags["mistral"] is False
    assert flags["openrouter"] is flags["groq"] is flags["gemini"] is True


# ---- non-streamed answers and the generation lookup ---------------------------------------------
def test_an_answer_without_usage_is_counted_and_flagged(api_client, groq_model, http_mock):
    body = groq_completion(content="Hello there!")
    del body["usage"]
    http_mock.add(responses.POST, GROQ_CHAT, json=body)

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )
    generation = api_client.get("/v1/generation", {"id": response["x-request-id"]}).json()["data"]

    assert "usage" not in response.json()  # nothing invented in the answer itself
    assert generation["usage_estimated"] is True
    assert generation["usage"] == {
        "prompt_tokens": tokens.prompt_tokens(HELLO),
        "completion_tokens": tokens.count_tokens("Hello there!"),
        "total_tokens": tokens.prompt_tokens(HELLO) + tokens.count_tokens("Hello there!"),
    }


def test_an_answer_with_usage_is_not_flagged(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )
    generation = api_client.get("/v1/generation", {"id": response["x-request-id"]}).json()["data"]

    assert generation["usage_estimated"] is False
    assert generation["usage"]["total_tokens"] == 652

"""Streaming: re-framing, usage once, tool deltas, and fallback only before content."""

import json
import time

import pytest
import responses

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    HELLO,
    add_stream,
    data_events,
    make_credential,
    make_model,
    sent_bodies,
    sse,
    sse_events,
)

pytestmark = pytest.mark.django_db

OPENROUTER_CHAT = "https://openrouter.ai/api/v1/chat/completions"
MISTRAL_CHAT = "https://api.mistral.ai/v1/chat/completions"
GROQ_TEXT = "The tool returned the expected result for the valid call."
STREAM = {"model": "openprovider/auto-free", "messages": HELLO, "stream": True}
FINISH_REASONS = {None, "stop", "length", "tool_calls", "content_filter", "function_call"}


def read(stream) -> bytes:
    return b"".join(stream)


def chunks_of(body: bytes) -> list[dict]:
    return [e for e in data_events(body) if isinstance(e, dict)]


def text_of(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c.get("choices"))


def groq_stream_then_error() -> bytes:
    """The recorded Groq stream cut after three content chunks, then its recorded error event."""
    lines = provider_fixture("groq/chat_stream.sse").decode().split("\n\n")
    first_content = next(i for i, line in enumerate(lines) if '"content":"The"' in line)
    error = provider_fixture("groq/chat_stream_midstream_error_event.sse").decode()
    error_event = error[error.index("event: error") :]
    return ("\n\n".join(lines[: first_content + 3]) + "\n\n" + error_event).encode()


def test_a_stream_is_reframed_as_openai_chunks_ending_with_done(chat_call, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    stream = chat_call({**STREAM, "model": groq_model.public_id})
    body = read(stream)

    assert stream.headers["Content-Type"] == "text/event-stream"
    assert stream.headers["x-openprovider-model"] == groq_model.public_id
    events = sse_events(body)
    assert all(e.startswith("data: ") and "\n" not in e for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = chunks_of(body)
    request_id = chunks[0]["id"]
    assert request_id.startswith("gen-")
    assert {c["id"] for c in chunks} == {request_id}
    assert {c["model"] for c in chunks} == {groq_model.public_id}
    assert len({c["created"] for c in chunks}) == 1
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert sum("role" in c["choices"][0]["delta"] for c in chunks) == 1
    assert text_of(chunks) == GROQ_TEXT
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert set(finishes) <= FINISH_REASONS
    assert finishes.count("stop") == 1
    assert not any("usage" in c for c in chunks)
    assert json.dumps(chunks[0], separators=(",", ":")) in body.decode()


def test_include_usage_sends_one_final_usage_chunk(chat_call, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    body = read(
        chat_call(
            {**STREAM, "model": groq_model.public_id, "stream_options": {"include_usage": True}}
        )
    )

    chunks = chunks_of(body)
    with_usage = [c for c in chunks if c.get("usage")]
    assert len(with_usage) == 1
    assert with_usage[0] is chunks[-1]
    assert with_usage[0]["choices"] == []
    assert with_usage[0]["usage"]["total_tokens"] == 397
    assert sent_bodies(http_mock, GROQ_CHAT)[0]["stream_options"] == {"include_usage": True}


def test_the_stream_is_logged_with_time_to_first_token_and_usage(chat_call, groq_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    body = read(chat_call({**STREAM, "model": groq_model.public_id}))

    log = RequestLog.objects.get(pk=chunks_of(body)[0]["id"])
    assert (log.status, log.http_status, log.streamed) == ("success", 200, True)
    assert log.ttft_ms is not None
    assert log.latency_ms >= log.ttft_ms
    assert (log.prompt_tokens, log.completion_tokens) == (339, 58)


def test_tool_call_deltas_pass_through(chat_call, groq_model, http_mock):
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather"}}
    deltas = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{**call, "function": {**call["function"], "arguments": ""}}],
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
    ]
    upstream = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    upstream.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    add_stream(http_mock, GROQ_CHAT, sse([*upstream, "[DONE]"]))

    chunks = chunks_of(read(chat_call({**STREAM, "model": groq_model.public_id})))

    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"city":"Paris"}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_mistral_content_parts_are_streamed_as_strings(chat_call, workspace, http_mock):
    mistral = make_credential(workspace, "mistral", "mistral")
    model = make_model(mistral, "magistral-medium-latest")
    add_stream(http_mock, MISTRAL_CHAT, provider_fixture("mistral/chat_stream.sse"))

    chunks = chunks_of(read(chat_call({**STREAM, "model": model.public_id})))

    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert all(isinstance(d.get("content", ""), str) for d in deltas)
    assert text_of(chunks).startswith("To cross the street safely")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_content_parts_from_a_custom_server_keep_thinking_as_reasoning(
    chat_call, alt_model, http_mock
):
    add_stream(http_mock, ALT_CHAT, provider_fixture("mistral/chat_stream.sse"))

    chunks = chunks_of(read(chat_call({**STREAM, "model": alt_model.public_id})))

    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert text_of(chunks).startswith("To cross the street safely")
    assert "".join(d.get("reasoning", "") for d in deltas).startswith("Okay, the user")


def test_an_openrouter_error_inside_a_200_stream_before_content_falls_back(
    chat_call, workspace, groq_model, http_mock
):
    openrouter = make_credential(workspace, "openrouter", "openrouter")
    first = make_model(openrouter, "minimax/minimax-m2:free")
    add_stream(
        http_mock,
        OPENROUTER_CHAT,
        provider_fixture("openrouter/chat_stream_free_model_midstream_error.sse"),
    )
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    body = read(chat_call({**STREAM, "model": first.public_id, "models": [groq_model.public_id]}))

    chunks = chunks_of(body)
    assert {c["model"] for c in chunks} == {groq_model.public_id}
    assert sum("role" in c["choices"][0]["delta"] for c in chunks if c["choices"]) == 1
    assert "We need" not in body.decode()  # the failed candidate's buffered reasoning is gone
    assert "OPENROUTER PROCESSING" not in body.decode()
    assert text_of(chunks) == GROQ_TEXT
    log = RequestLog.objects.get(pk=chunks[0]["id"])
    assert [(a["model"], a["status"]) for a in log.attempts] == [
        (first.public_id, "upstream"),
        (groq_model.public_id, "ok"),
    ]


def test_a_groq_error_event_before_content_falls_back(chat_call, groq_model, alt_model, http_mock):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream_midstream_error_event.sse"))
    add_stream(http_mock, ALT_CHAT, provider_fixture("mistral/chat_stream.sse"))

    chunks = chunks_of(read(chat_call(STREAM)))

    assert {c["model"] for c in chunks} == {alt_model.public_id}
    assert text_of(chunks).startswith("To cross the street safely")


def test_a_stream_with_no_content_is_an_empty_completion_and_falls_back(
    chat_call, groq_model, alt_model, http_mock
):
    role_only = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
        ],
    }
    add_stream(http_mock, GROQ_CHAT, sse([role_only, "[DONE]"]))
    add_stream(http_mock, ALT_CHAT, provider_fixture("groq/chat_stream.sse"))

    chunks = chunks_of(read(chat_call(STREAM)))

    assert {c["model"] for c in chunks} == {alt_model.public_id}
    log = RequestLog.objects.get(pk=chunks[0]["id"])
    assert [a["status"] for a in log.attempts] == ["empty", "ok"]


def test_a_failure_after_content_ends_with_one_error_event_and_is_partial(
    chat_call, groq_model, alt_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, groq_stream_then_error())
    add_stream(http_mock, ALT_CHAT, provider_fixture("mistral/chat_stream.sse"))

    body = read(chat_call(STREAM))

    events = data_events(body)
    assert events[-1] == "[DONE]"
    errors = [e for e in events if isinstance(e, dict) and "error" in e]
    assert len(errors) == 1
    assert events[-2] is errors[0]
    assert errors[0]["error"]["code"] == "upstream_error"
    assert set(errors[0]["error"]) == {"message", "type", "code", "param", "request_id"}
    chunks = [e for e in events if isinstance(e, dict) and "choices" in e]
    assert text_of(chunks) == "The tool returned"
    assert {c["model"] for c in chunks} == {groq_model.public_id}
    assert [c.request.url for c in http_mock.calls] == [GROQ_CHAT]  # never spliced
    log = RequestLog.objects.get(pk=chunks[0]["id"])
    assert (log.status, log.error_code) == ("partial", "upstream_error")
    assert [a["status"] for a in log.attempts] == ["ok", "upstream"]


def test_every_candidate_failing_before_content_raises_before_any_byte(
    chat_call, groq_model, alt_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream_midstream_error_event.sse"))
    http_mock.add(responses.POST, ALT_CHAT, status=503, json={"error": {"message": "busy"}})

    with pytest.raises(ApiError) as raised:
        chat_call(STREAM)

    assert raised.value.status_code == 502
    log = RequestLog.objects.get()
    assert (log.status, log.http_status, log.streamed) == ("error", 502, True)


def test_a_stream_closed_before_it_is_read_is_logged_and_closes_upstream(
    chat_call, groq_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    stream = chat_call({**STREAM, "model": groq_model.public_id})
    stream.close()

    log = RequestLog.objects.get()
    assert log.status == "client_disconnected"
    assert stream.opened.upstream.gi_frame is None  # the upstream generator (and response) closed


def test_a_client_that_stops_reading_is_logged_client_disconnected(
    chat_call, groq_model, http_mock
):
    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))

    stream = chat_call({**STREAM, "model": groq_model.public_id})
    next(stream)
    next(stream)
    stream.close()

    assert RequestLog.objects.get().status == "client_disconnected"
    deadline = time.monotonic() + 2
    while stream.opened.upstream.gi_frame is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.opened.upstream.gi_frame is None


def test_the_db_connection_is_released_before_upstream_is_called(
    chat_call, groq_model, http_mock, monkeypatch
):
    order = []
    monkeypatch.setattr(
        "gateway.chat.service.release_db_connections", lambda: order.append("release")
    )
    http_mock.add_callback(
        responses.POST,
        GROQ_CHAT,
        callback=lambda request: (
            order.append("upstream") or (200, {}, provider_fixture("groq/chat_stream.sse").decode())
        ),
    )

    read(chat_call({**STREAM, "model": groq_model.public_id}))

    assert order == ["release", "upstream"]


def test_a_failed_final_log_write_does_not_break_a_delivered_stream(
    chat_call, groq_model, http_mock, monkeypatch
):
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("database is gone")

    add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))
    stream = chat_call({**STREAM, "model": groq_model.public_id})
    monkeypatch.setattr("gateway.routing.context.request_log_finish", broken)

    body = read(stream)

    assert text_of(chunks_of(body)) == GROQ_TEXT
    assert body.endswith(b"data: [DONE]\n\n")

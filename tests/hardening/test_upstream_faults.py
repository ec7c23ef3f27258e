"""Upstream faults at the byte level against a raw loopback provider.

Fallback happens only before the first content byte reaches the client; after it, a failure
ends the stream with one SSE error event and [DONE], never a second provider's output.
"""

import gzip
import json
import time

import pytest
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from tests.gateway.conftest import HELLO, data_events, make_credential, make_model
from tests.hardening.faultserver import HOLD_SECONDS, ROLE_CHUNK, FaultServer, content_chunk

pytestmark = pytest.mark.django_db


@pytest.fixture
def providers(workspace):
    """`providers(script_a, script_b, ...)`: one custom provider per script, in fallback order."""
    servers: list[FaultServer] = []

    def make(*scripts):
        models = []
        for index, script in enumerate(scripts):
            server = FaultServer(script).__enter__()
            servers.append(server)
            credential = make_credential(
                workspace, "custom", f"fault{index}", base_url=server.base_url
            )
            models.append(make_model(credential, "fault-chat"))
        return servers, models

    yield make
    for server in servers:
        server.__exit__()


def payload(models, *, stream: bool) -> dict:
    return {
        "model": models[0].public_id,
        "models": [m.public_id for m in models[1:]],
        "messages": HELLO,
        "stream": stream,
    }


def good_stream(conn) -> None:
    conn.sse_head()
    conn.event(ROLE_CHUNK)
    conn.event(content_chunk("Hello from B"))
    conn.event(content_chunk("", finish="stop"))
    conn.event("[DONE]")
    conn.end_chunks()


def good_completion(conn) -> None:
    body = {
        "id": "chatcmpl-b",
        "object": "chat.completion",
        "created": 1,
        "model": "fault-chat",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from B"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }
    conn.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def text_of(body: bytes) -> str:
    chunks = [e for e in data_events(body) if isinstance(e, dict) and e.get("choices")]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


def errors_of(body: bytes) -> list[dict]:
    return [e["error"] for e in data_events(body) if isinstance(e, dict) and "error" in e]


def log_of(request_id: str) -> RequestLog:
    return RequestLog.objects.get(pk=request_id)


# ---- before the first byte: fall back -------------------------------------------------------
def silent(conn) -> None:
    conn.wait_until_stopped()


@override_settings(PROVIDER_READ_TIMEOUT_SECONDS=0.3)
def test_a_first_byte_timeout_falls_back_and_the_client_sees_only_b(chat_call, providers):
    servers, models = providers(silent, good_stream)

    body = b"".join(chat_call(payload(models, stream=True)))

    assert text_of(body) == "Hello from B"
    assert not errors_of(body)
    assert len(servers[1].requests) == 1


@override_settings(PROVIDER_READ_TIMEOUT_SECONDS=0.3)
def test_a_first_byte_timeout_on_the_only_provider_is_504(chat_call, providers):
    _, models = providers(silent)

    with pytest.raises(ApiError) as raised:
        chat_call(payload(models, stream=False))

    assert (raised.value.status_code, raised.value.code) == (504, "upstream_timeout")


def test_a_refused_connection_falls_back(chat_call, providers):
    servers, models = providers(good_stream, good_stream)
    servers[0].__exit__()  # nothing listens on its port any more

    body = b"".join(chat_call(payload(models, stream=True)))

    assert text_of(body) == "Hello from B"


def keepalives_forever(conn) -> None:
    conn.sse_head()
    conn.wait_until_stopped(interval=0.02, ping=b": keep-alive\n\n")


@override_settings(PROVIDER_STREAM_MAX_SECONDS=0.5)
def test_keepalives_forever_before_content_hit_the_deadline_and_fall_back(chat_call, providers):
    servers, models = providers(keepalives_forever, good_stream)

    started = time.monotonic()
    body = b"".join(chat_call(payload(models, stream=True)))

    assert time.monotonic() - started < HOLD_SECONDS / 2
    assert text_of(body) == "Hello from B"
    assert servers[0].disconnected.wait(2), "the stalled upstream was never closed"


def html_502(conn) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
    conn.reply(502, page, {"Content-Type": "text/html"})


def html_200(conn) -> None:
    conn.reply(
        200,
        b"<!doctype html><html><body>Just a moment...</body></html>",
        {"Content-Type": "text/html"},
    )


def malformed_json(conn) -> None:
    conn.reply(200, b'{"choices": [', {"Content-Type": "application/json"})


def json_without_choices(conn) -> None:
    conn.reply(200, b'{"object": "chat.completion"}', {"Content-Type": "application/json"})


def wrong_content_type_stream(conn) -> None:
    conn.reply(200, b'{"hello": "world"}', {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "fault", [html_502, html_200, malformed_json, json_without_choices], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("stream", [False, True])
def test_junk_answers_fall_back_and_are_never_forwarded(chat_call, providers, fault, stream):
    _, models = providers(fault, good_stream if stream else good_completion)

    result = chat_call(payload(models, stream=stream))

    text = text_of(b"".join(result)) if stream else result.body["choices"][0]["message"]["content"]
    assert text == "Hello from B"


@pytest.mark.parametrize(
    "fault",
    [html_502, html_200, malformed_json, json_without_choices, wrong_content_type_stream],
    ids=lambda f: f.__name__,
)
def test_junk_from_the_only_provider_is_a_502_without_the_upstream_text(
    chat_call, providers, fault, caplog
):
    _, models = providers(fault)

    with pytest.raises(ApiError) as raised:
        chat_call(payload(models, stream=True))

    error = raised.value
    assert error.status_code == 502
    shown = json.dumps(error.envelope())
    assert "<html" not in shown
    assert "cloudflare" not in shown
    assert "Just a moment" not in shown
    assert "cloudflare" not in caplog.text


def gzip_bomb(conn) -> None:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
    conn.reply(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})


@override_settings(PROVIDER_MAX_RESPONSE_BYTES=1024 * 1024)
def test_a_gzip_bomb_is_cut_at_the_cap_and_falls_back(chat_call, providers):
    _, models = providers(gzip_bomb, good_completion)

    result = chat_call(payload(models, stream=False))

    assert result.body["choices"][0]["message"]["content"] == "Hello from B"
    assert result.body["provider"] == "fault1"


@override_settings(PROVIDER_MAX_RESPONSE_BYTES=1024 * 1024)
def test_an_endless_sse_line_is_cut_at_the_cap(chat_call, providers):
    def endless_line(conn) -> None:
        conn.sse_head()
        conn.chunk(b"data: ")
        conn.wait_until_stopped(interval=0.001, ping=b"x" * 65536)

    servers, models = providers(endless_line, good_stream)

    body = b"".join(chat_call(payload(models, stream=True)))

    assert text_of(body) == "Hello from B"
    assert servers[0].disconnected.wait(2)


# ---- after the first byte: one error event, no second provider ------------------------------
def content_then(fault):
    def script(conn) -> None:
        conn.sse_head()
        conn.event(ROLE_CHUNK)
        conn.event(content_chunk("Hello "))
        conn.event(content_chunk("from A"))
        fault(conn)

    script.__name__ = fault.__name__
    return script


def reset(conn) -> None:
    conn.reset()


def truncated_chunk(conn) -> None:
    conn.send(b'400\r\ndata: {"choices"')  # promises 1024 bytes, sends a few, then closes
    conn.sock.close()


def eof_without_finish(conn) -> None:
    conn.end_chunks()


def malformed_event(conn) -> None:
    conn.event("{not json")


def stall(conn) -> None:
    conn.wait_until_stopped()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (reset, "upstream_error"),
        (truncated_chunk, "upstream_error"),
        (eof_without_finish, "upstream_error"),
        (malformed_event, "upstream_error"),
        (stall, "upstream_timeout"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
@override_settings(PROVIDER_READ_TIMEOUT_SECONDS=0.3, GATEWAY_KEEPALIVE_SECONDS=0)
def test_a_failure_after_content_ends_with_one_error_event_and_no_fallback(
    chat_call, providers, fault, code
):
    servers, models = providers(content_then(fault), good_stream)

    stream = chat_call(payload(models, stream=True))
    body = b"".join(stream)

    assert text_of(body) == "Hello from A"
    errors = errors_of(body)
    assert len(errors) == 1
    assert errors[0]["code"] == code
    assert errors[0]["request_id"] == stream.ctx.request_id
    assert body.endswith(b"data: [DONE]\n\n")
    assert not servers[1].requests, "a second provider was called after the first byte"
    row = log_of(stream.ctx.request_id)
    assert row.status == "partial"


@override_settings(PROVIDER_STREAM_MAX_SECONDS=0.6, GATEWAY_KEEPALIVE_SECONDS=0.1)
@pytest.mark.parametrize("ping", [b": keep-alive\n\n", None], ids=["comments", "tokens"])
def test_a_stream_that_never_ends_is_ended_by_the_total_deadline(chat_call, providers, ping):
    def forever(conn) -> None:
        conn.sse_head()
        conn.event(ROLE_CHUNK)
        conn.event(content_chunk("Hello"))
        give_up = time.monotonic() + HOLD_SECONDS
        while not conn.server.stopping.is_set() and time.monotonic() < give_up:
            if ping is None:
                conn.event(content_chunk(" again"))
            else:
                conn.chunk(ping)
            time.sleep(0.02)

    servers, models = providers(forever, good_stream)

    started = time.monotonic()
    stream = chat_call(payload(models, stream=True))
    body = b"".join(stream)

    assert time.monotonic() - started < HOLD_SECONDS / 2
    errors = errors_of(body)
    assert [e["code"] for e in errors] == ["upstream_timeout"]
    assert body.endswith(b"data: [DONE]\n\n")
    assert servers[0].disconnected.wait(2), "the upstream was not closed at the deadline"
    assert not servers[1].requests


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_sse_split_at_any_byte_including_inside_utf8_is_reassembled(chat_call, providers, step):
    text = "Grüße, 世界! 👋🏽 done"
    events = [ROLE_CHUNK, *(content_chunk(ch) for ch in text), content_chunk("", finish="stop")]
    raw = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\r\n\r\n" for e in events)
    raw = (raw + "data: [DONE]\n\n").encode()

    def dribble(conn) -> None:
        conn.sse_head()
        for start in range(0, len(raw), step):
            conn.chunk(raw[start : start + step])
        conn.end_chunks()

    _, models = providers(dribble)

    body = b"".join(chat_call(payload(models, stream=True)))

    assert text_of(body) == text
    assert not errors_of(body)


def short_body(conn) -> None:
    conn.head(200, {"Content-Type": "application/json", "Content-Length": "5000"})
    conn.send(b'{"choices": [')
    conn.sock.close()


def dripping_body(conn) -> None:
    conn.head(200, {"Content-Type": "application/json", "Content-Length": "100000"})
    give_up = time.monotonic() + HOLD_SECONDS
    while not conn.server.stopping.is_set() and time.monotonic() < give_up:
        conn.send(b" ")
        time.sleep(0.02)


@override_settings(PROVIDER_STREAM_MAX_SECONDS=0.5)
@pytest.mark.parametrize("fault", [short_body, dripping_body], ids=lambda f: f.__name__)
def test_a_broken_or_endless_plain_answer_falls_back(chat_call, providers, fault):
    servers, models = providers(fault, good_completion)

    started = time.monotonic()
    result = chat_call(payload(models, stream=False))

    assert time.monotonic() - started < HOLD_SECONDS / 2
    assert result.body["choices"][0]["message"]["content"] == "Hello from B"
    assert len(servers[0].requests) == 1


def rate_limited(retry_after: str | None):
    def script(conn) -> None:
        headers = {"Content-Type": "application/json"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        conn.reply(429, b'{"error": {"message": "slow down"}}', headers)

    return script


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("2", 2), (None, None), ("garbage", None), ("3600", 3600)],
    ids=["seconds", "absent", "garbage", "long"],
)
def test_a_429_falls_back_and_cools_the_route_for_its_retry_after(
    chat_call, providers, retry_after, expected
):
    from gateway.routing.candidates import route_of
    from gateway.routing.cooldowns import cooldown_until_many

    servers, models = providers(rate_limited(retry_after), good_completion)

    result = chat_call(payload(models, stream=False))

    assert result.body["choices"][0]["message"]["content"] == "Hello from B"
    route = route_of(models[0])
    remaining = cooldown_until_many([route])[route] - time.time()
    if expected is None:  # a bare 429: a few seconds, never past the next minute boundary
        assert 0 < remaining <= 5
    else:
        assert expected - 2 <= remaining <= expected
    assert len(servers[0].requests) == 1


def test_a_connect_timeout_falls_back_and_when_every_candidate_times_out_it_is_504(
    chat_call, workspace, http_mock
):
    import requests
    import responses

    from tests.gateway.conftest import ALT_BASE, ALT_CHAT, GROQ_CHAT, groq_completion

    first = make_model(make_credential(workspace, "groq", "groq"), "llama-3.3-70b-versatile")
    second = make_model(make_credential(workspace, "custom", "relay", base_url=ALT_BASE), "alt")
    http_mock.add(responses.POST, GROQ_CHAT, body=requests.ConnectTimeout("no SYN-ACK"))
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion(content="Hello from B"))

    result = chat_call(payload([first, second], stream=False))

    assert result.body["choices"][0]["message"]["content"] == "Hello from B"

    http_mock.replace(responses.POST, ALT_CHAT, body=requests.ConnectTimeout("no SYN-ACK"))
    with pytest.raises(ApiError) as raised:
        chat_call(payload([first, second], stream=True))

    assert (raised.value.status_code, raised.value.code) == (504, "upstream_timeout")

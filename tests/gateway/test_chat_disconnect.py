"""Client disconnect against live_server, and keep-alives once a stream is committed."""

import json
import re
import socket
import threading
import time

import pytest
from django.test import override_settings

from gateway.models import RequestLog
from tests.gateway.conftest import HELLO, make_credential, make_model
from tests.gateway.drip import DripProvider


def read_first_event_then_close(url: str, payload: dict, key: str) -> tuple[bytes, float]:
    """POST over a raw socket, read until the first SSE event, close; (bytes read, when)."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(payload).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request + body)
        received = b""
        while b"data: " not in received:
            piece = sock.recv(4096)
            if not piece:
                break
            received += piece
    return received, time.monotonic()


def wait_for(condition, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server_requests_finish():
    """Wait for the live server's request threads this test started: one still relaying after
    the test would touch the database while the next test sets it up (or during exit)."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        if "process_request_thread" in thread.name:
            thread.join(10)
            assert not thread.is_alive(), "a live-server request thread never finished"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("server_requests_finish")
def test_a_client_disconnect_closes_the_upstream_and_is_logged(live_server, workspace, created_key):
    with DripProvider(interval=0.1, count=200) as drip:
        credential = make_credential(workspace, "custom", "drip", base_url=drip.base_url)
        model = make_model(credential, "drip-chat")
        # When a raw-socket client reads the first event and hangs up
        head, closed_at = read_first_event_then_close(
            live_server.url,
            {"model": model.public_id, "messages": HELLO, "stream": True},
            created_key.plaintext,
        )

        assert b" 200 " in head.split(b"\r\n")[0]
        assert b"data: " in head
        assert drip.disconnected.wait(5), "the upstream never saw the disconnect"
        assert drip.disconnected_at - closed_at < 2.0
        assert not drip.completed.is_set()
        request_id = (
            re.search(rb"x-request-id: (gen-[\w-]+)", head, re.IGNORECASE).group(1).decode()
        )
        assert wait_for(
            lambda: RequestLog.objects.filter(pk=request_id, status="client_disconnected").exists()
        )


@pytest.mark.django_db
@override_settings(GATEWAY_KEEPALIVE_SECONDS=0.1)
def test_keepalive_comments_are_sent_while_a_committed_stream_waits(chat_call, workspace):
    with DripProvider(interval=0.01, count=3, pause=0.5) as drip:
        credential = make_credential(workspace, "custom", "drip", base_url=drip.base_url)
        model = make_model(credential, "drip-chat")

        body = b"".join(chat_call({"model": model.public_id, "messages": HELLO, "stream": True}))

    events = body.decode().split("\n\n")
    first_keepalive = events.index(": keep-alive")
    first_content = next(i for i, e in enumerate(events) if "tick0" in e)
    assert first_content < first_keepalive  # only after the stream is committed
    assert events.count(": keep-alive") >= 2
    assert "tick2" in body.decode()
    assert body.endswith(b"data: [DONE]\n\n")
    assert RequestLog.objects.get().status == "success"

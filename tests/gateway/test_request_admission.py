"""What a /v1 request must pass before its key is looked up: its whole body within a deadline,
and a free in-flight slot for its key (or, without one, its client address)."""

import io
import json
import socket
import threading
import time
import uuid

import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import api_key_create, api_key_hash
from gateway.api.errors import ApiError
from gateway.inflight import inflight_acquire
from gateway.middleware import ApiErrorMiddleware
from tests.conftest import provider_fixture
from tests.gateway.conftest import GROQ_CHAT, HELLO, add_stream
from tests.gateway.test_chat_ratelimit import redis_caches

pytestmark = pytest.mark.django_db


def client_for(plaintext: str | None = None, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if plaintext:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def open_stream(client: APIClient, model: str):
    """A streamed completion whose body is not read yet: its request is still in flight."""
    return client.post(
        "/v1/chat/completions",
        {"model": model, "messages": HELLO, "stream": True},
        format="json",
    )


def assert_too_many(response) -> None:
    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "too_many_concurrent_requests")
    assert response["Retry-After"] == "1"


def test_a_key_past_its_concurrent_requests_is_refused_and_others_are_served(
    created_key, workspace, groq_model, http_mock, settings
):
    settings.API_KEY_MAX_CONCURRENT_REQUESTS = 2
    for _ in range(3):
        add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))
    mine = client_for(created_key.plaintext)
    streams = [open_stream(mine, groq_model.public_id) for _ in range(2)]
    assert [stream.status_code for stream in streams] == [200, 200]

    refused = mine.get("/v1/key")
    other = api_key_create(workspace=workspace, name="other")

    assert_too_many(refused)
    assert created_key.plaintext not in refused.content.decode()
    assert client_for(other.plaintext).get("/v1/key").status_code == 200


def test_a_slot_is_given_back_when_a_stream_ends_or_is_aborted(
    created_key, groq_model, http_mock, settings
):
    settings.API_KEY_MAX_CONCURRENT_REQUESTS = 1
    for _ in range(3):
        add_stream(http_mock, GROQ_CHAT, provider_fixture("groq/chat_stream.sse"))
    mine = client_for(created_key.plaintext)

    finished = open_stream(mine, groq_model.public_id)
    assert_too_many(mine.get("/v1/key"))
    b"".join(finished.streaming_content)  # read to the end: the test client closes it
    aborted = open_stream(mine, groq_model.public_id)
    assert aborted.status_code == 200
    assert_too_many(mine.get("/v1/key"))
    aborted.close()  # what the WSGI server does when the client goes away mid-stream

    assert mine.get("/v1/key").status_code == 200
    assert mine.get("/v1/key").status_code == 200  # errors and plain answers give it back too


def test_requests_without_a_key_are_bounded_per_client_address(created_key, settings):
    settings.CLIENT_MAX_CONCURRENT_REQUESTS = 1
    held = inflight_acquire("addr:203.0.113.9", 1, per="client address")

    assert_too_many(client_for(address="203.0.113.9").get("/v1/key"))
    assert client_for(address="198.51.100.1").get("/v1/key").status_code == 401
    served = client_for(created_key.plaintext, address="203.0.113.9").get("/v1/key")
    assert served.status_code == 200  # a key is counted as the key, not as the address
    held()
    assert client_for(address="203.0.113.9").get("/v1/key").status_code == 401


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def slot_cache(request):
    if request.param == "locmem":
        yield
        return
    with override_settings(CACHES=redis_caches(f"inflight-test-{uuid.uuid4().hex}")):
        yield
        caches["default"].clear()


def test_slots_are_shared_counted_and_given_back_once(slot_cache):
    releases = [inflight_acquire("key:shared", 3, per="API key") for _ in range(3)]
    with pytest.raises(ApiError) as refused:
        inflight_acquire("key:shared", 3, per="API key")

    releases[0]()
    releases[0]()  # a second close must not free someone else's slot
    again = inflight_acquire("key:shared", 3, per="API key")

    assert refused.value.code == "too_many_concurrent_requests"
    with pytest.raises(ApiError):
        inflight_acquire("key:shared", 3, per="API key")
    for release in [*releases[1:], again]:
        release()
    assert inflight_acquire("key:shared", 3, per="API key") is not None


def test_a_leaked_slot_expires_on_its_own(slot_cache, monkeypatch):
    monkeypatch.setattr("gateway.inflight.slot_seconds", lambda: 1)
    inflight_acquire("key:leak", 1, per="API key")  # never given back: a killed worker
    with pytest.raises(ApiError):
        inflight_acquire("key:leak", 1, per="API key")

    deadline = time.monotonic() + 10
    while True:  # wait for the condition, with a deadline
        try:
            inflight_acquire("key:leak", 1, per="API key")
            break
        except ApiError:
            assert time.monotonic() < deadline, "the leaked slot never expired"
            time.sleep(0.1)


def environ_for(body_stream, length: int, **extra) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/chat/completions",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "203.0.113.5",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(length),
        "HTTP_AUTHORIZATION": "Bearer opk_live_" + "s" * 43,
        "wsgi.input": body_stream,
        "wsgi.url_scheme": "http",
        **extra,
    }


def view_never_called(request):
    raise AssertionError("the key lookup and the view ran before the body was complete")


def assert_error(response: HttpResponse, status: int, code: str) -> None:
    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code


def test_a_body_shorter_than_its_length_is_a_400_before_anything_else(settings):
    settings.API_KEY_MAX_CONCURRENT_REQUESTS = 1
    middleware = ApiErrorMiddleware(view_never_called)

    response = middleware(WSGIRequest(environ_for(io.BytesIO(b'{"model": "x"'), 1000)))
    response.close()

    assert_error(response, 400, "incomplete_body")
    inflight_acquire("key:" + api_key_hash("opk_live_" + "s" * 43), 1, per="API key")  # free


def test_a_slow_body_is_a_408_at_the_deadline_and_frees_its_slot(settings):
    settings.REQUEST_BODY_TIMEOUT_SECONDS = 0.5
    settings.API_KEY_MAX_CONCURRENT_REQUESTS = 1
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b'{"model": "x", ')  # and nothing more: the rest never comes
        environ = environ_for(server.makefile("rb"), 1000, **{"gunicorn.socket": server})
        began = time.monotonic()

        response = ApiErrorMiddleware(view_never_called)(WSGIRequest(environ))
        response.close()
        elapsed = time.monotonic() - began

    assert_error(response, 408, "request_timeout")
    assert elapsed < 5
    inflight_acquire("key:" + api_key_hash("opk_live_" + "s" * 43), 1, per="API key")


def test_a_whole_body_reaches_the_view_unchanged(settings):
    body = b'{"model": "x", "messages": []}'
    seen = []

    def view(request):
        seen.append(request.body)
        return HttpResponse("ok")

    response = ApiErrorMiddleware(view)(WSGIRequest(environ_for(io.BytesIO(body), len(body))))

    assert response.status_code == 200
    assert seen == [body]


class HeldBody(io.RawIOBase):
    """A body whose bytes arrive only when the test says so."""

    def __init__(self, body: bytes) -> None:
        self.body, self.started, self.go = body, threading.Event(), threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.started.set()
        assert self.go.wait(10), "the test never let the body through"
        piece, self.body = self.body[:size], self.body[size:]
        return piece


def test_bodies_being_read_are_bounded_per_address_whatever_keys_they_present(settings):
    settings.CLIENT_MAX_PENDING_BODIES = 1
    body = b'{"model": "x"}'
    held = HeldBody(body)
    seen = []

    def view(request):
        seen.append(request.body)
        return HttpResponse("ok")

    def made_up_key(n: int) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer opk_live_{n:043d}"}

    reading = threading.Thread(
        target=lambda: ApiErrorMiddleware(view)(
            WSGIRequest(environ_for(held, len(body), **made_up_key(1)))
        )
    )
    reading.start()
    try:
        assert held.started.wait(10)
        second_key = environ_for(io.BytesIO(body), len(body), **made_up_key(2))
        other_address = environ_for(io.BytesIO(body), len(body), REMOTE_ADDR="198.51.100.3")

        refused = ApiErrorMiddleware(view)(WSGIRequest(second_key))
        served = ApiErrorMiddleware(view)(WSGIRequest(other_address))
    finally:
        held.go.set()
        reading.join(10)

    assert_error(refused, 429, "too_many_concurrent_requests")
    assert served.status_code == 200
    assert seen == [body, body]  # the held one went through once its bytes came
    again = ApiErrorMiddleware(view)(WSGIRequest(environ_for(io.BytesIO(body), len(body))))
    assert again.status_code == 200  # its count was given back

"""Reading a /v1 request body completely, under a size cap and a deadline, before anything else.

A body shorter than its Content-Length used to block the worker's read for ever, after the key
lookup had taken a pooled database connection. The middleware now reads the whole body here
first, so a slow client holds only its socket and a greenlet, never a database connection or
a cache lookup, and for at most REQUEST_BODY_TIMEOUT_SECONDS.

While its body is read a request is not authenticated yet, whatever key it presents: at most
CLIENT_MAX_PENDING_BODIES bodies per client address are read at once in each process (a count
in memory, no cache round trip: what it protects is this worker's connections), so made-up keys
cannot multiply one address's slow bodies past the in-flight bound of gateway/inflight.py.

The deadline is a gevent Timeout in a gevent worker (strict: it interrupts the blocked read);
elsewhere it is a socket timeout on gunicorn's client socket, renewed with the time left before
each read. gunicorn bounds the request line and headers itself (its gevent worker reads them
under the `keepalive` timeout, 5 s in config/gunicorn.py).
"""

import io
import threading
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.clients import client_address
from config.infra.gevent_patch import gevent_patched
from gateway.api.errors import ApiError

PIECE_BYTES = 64 * 1024

_pending_bodies: Counter[str] = Counter()
_pending_lock = threading.Lock()


class BodyTimeout(Exception):
    """The client did not send its whole body before the deadline."""


def request_timeout_error() -> ApiError:
    return ApiError(
        "The request body was not received in time "
        f"({settings.REQUEST_BODY_TIMEOUT_SECONDS:g} s); send the whole body at once.",
        status=408,
        code="request_timeout",
    )


def incomplete_body_error() -> ApiError:
    return ApiError(
        "The request body is shorter than its Content-Length.",
        code="incomplete_body",
    )


def request_body_read(request: HttpRequest, *, limit: int) -> bool:
    """Read the body into memory (at most `limit` bytes); False when it is longer.

    A chunked body (gunicorn de-chunks it and passes no Content-Length) is read up to the cap
    and given a length. Raises ApiError 408 past the deadline, 400 when the body ends early.
    """
    source = request.META.get("wsgi.input")
    declared = declared_length(request.META)
    chunked = _is_chunked(request)
    if source is None or (declared == 0 and not chunked):
        return True
    wanted = limit + 1 if chunked else declared
    try:
        with (
            _pending_body(client_address(request.META)),
            _deadline(request.META, settings.REQUEST_BODY_TIMEOUT_SECONDS) as remaining,
        ):
            body = _read(source, wanted, remaining)
    except BodyTimeout:
        raise request_timeout_error() from None
    if len(body) > limit:
        return False
    if not chunked and len(body) < declared:
        raise incomplete_body_error()
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = io.BytesIO(body)
    return True


def declared_length(meta: dict) -> int:
    try:
        return max(int(meta.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _is_chunked(request: HttpRequest) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in encoding.lower() and not request.META.get("CONTENT_LENGTH")


@contextmanager
def _pending_body(address: str):
    """Count a body being read from `address` in this process; 429 past the bound."""
    limit = settings.CLIENT_MAX_PENDING_BODIES
    with _pending_lock:
        if 0 < limit <= _pending_bodies[address]:
            raise ApiError(
                "Too many request bodies are being received from this client address "
                f"(the limit is {limit}); send each body at once.",
                status=429,
                code="too_many_concurrent_requests",
                headers={"Retry-After": "1"},
            )
        _pending_bodies[address] += 1
    try:
        yield
    finally:
        with _pending_lock:
            _pending_bodies[address] -= 1
            if not _pending_bodies[address]:
                del _pending_bodies[address]


def _read(source: Any, wanted: int, remaining: Any) -> bytes:
    body = bytearray()
    while len(body) < wanted:
        remaining()  # renews the socket timeout (or raises) before each blocking read
        piece = source.read(min(PIECE_BYTES, wanted - len(body)))
        if not piece:
            break
        body += piece
    return bytes(body)


@contextmanager
def _deadline(meta: dict, seconds: float):
    """Yield a callable to run before each read; reads past `seconds` raise BodyTimeout."""
    deadline = time.monotonic() + seconds
    sock = meta.get("gunicorn.socket")
    if gevent_patched():
        import gevent

        with gevent.Timeout(seconds, BodyTimeout):
            yield lambda: None
        return
    if sock is None:  # the test client and runserver hand over a body already in memory
        yield lambda: None
        return
    previous = sock.gettimeout()

    def renew() -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BodyTimeout
        sock.settimeout(left)

    try:
        yield renew
    except TimeoutError:
        raise BodyTimeout from None
    finally:
        sock.settimeout(previous)

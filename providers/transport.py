"""The HTTP seam: the only module that calls `requests`.

Explicit connect and read timeouts, no redirects, keys only in headers, every failure mapped to
`ProviderError`. Every new connection goes only to an address providers.netguard allows: a base
URL saved with a credential (a custom provider) reaches public addresses and
OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS; one the operator set (the registry,
OPENPROVIDER_BASE_URL_<SLUG>) reaches anything but link-local, metadata, unspecified and
multicast addresses.
"""

import contextlib
import functools
import json
import socket
import ssl
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import orjson
import requests
import urllib3
from django.conf import settings

from .errors import ProviderError
from .netguard import AddressNotAllowed, GuardedHTTPAdapter, Policy, operator_may_reach
from .sse import SSEEvent, SSEParser
from .wire import Payload

MAX_ERROR_BODY = 64 * 1024
READ_PIECE = 64 * 1024
# After `data: [DONE]` a few bytes (the chunked terminator) usually remain: reading them lets the
# connection go back to the pool instead of being closed. Bounded so a server that keeps talking
# after [DONE] costs at most this long before the connection is dropped as before.
DRAIN_MAX_PIECES = 4
DRAIN_TIMEOUT_SECONDS = 0.2
# Idle keep-alive connections kept per provider and process: a gevent worker may hold ~1,000
# concurrent streams to one provider (bench/README.md, "Upstream pool size").
POOL_MAXSIZE = 1024

_pools: dict[tuple[str, Policy], requests.adapters.HTTPAdapter] = {}
_pools_lock = threading.Lock()
# requests' Session defaults (User-Agent, Accept-Encoding, Accept, Connection), sent as before.
DEFAULT_HEADERS = dict(requests.utils.default_headers())
MAX_CACHED_URL = 512  # longer URLs (a prompt in the path) are prepared each time, not kept


def http_pool_for(
    provider: str, allows: Policy = operator_may_reach
) -> requests.adapters.HTTPAdapter:
    """One pooled transport per provider and address policy per process.

    Calls go straight to requests' HTTPAdapter, not through a Session: a Session's per-call
    settings merge, cookie jar and redirect machinery cost about as much CPU as the HTTP
    exchange itself on the gateway's hot path (bench/README.md, "What changed in this round"),
    and none of them is wanted here (no cookies kept between callers, no redirects, no
    environment proxies).
    """
    key = (provider, allows)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = GuardedHTTPAdapter(allows, pool_connections=4, pool_maxsize=POOL_MAXSIZE)
                _pools[key] = pool
    return pool


@functools.lru_cache(maxsize=2048)
def _prepared_url(url: str) -> str:
    """requests' URL preparation (parse, IDNA, quoting), once per distinct URL."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


def prepare_request(
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    files: Any = None,
) -> requests.PreparedRequest:
    """What Session.prepare_request builds for this call, minus cookies, auth and hooks."""
    prepared = requests.PreparedRequest()
    prepared.prepare_method(method)
    if params or len(url) > MAX_CACHED_URL:
        prepared.prepare_url(url, params)
    else:
        prepared.url = _prepared_url(url)
    prepared.prepare_headers({**DEFAULT_HEADERS, **headers})
    prepared.prepare_body(data, files, json)  # files: a multipart body (audio uploads)
    return prepared


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    pool: requests.adapters.HTTPAdapter,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    files: Any = None,
) -> requests.Response:
    """One call through a guarded pool; the body is left unread (see `read_body`)."""
    timeout = (settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_READ_TIMEOUT_SECONDS)
    try:
        prepared = prepare_request(
            method, url, headers, params=params, json=json, data=data, files=files
        )
        return pool.send(prepared, stream=True, timeout=timeout)
    except AddressNotAllowed:
        raise ProviderError(
            "upstream address is not allowed", kind="connection", retryable=True
        ) from None
    except requests.Timeout:
        raise ProviderError("upstream timed out", kind="timeout", retryable=True) from None
    except requests.RequestException as error:
        raise ProviderError(
            f"could not connect to upstream: {connect_failure(error)}",
            kind="connection",
            retryable=True,
        ) from None


# The cause of a failed connection, named as an operator would look for it; never the URL.
CONNECT_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (socket.gaierror, "host not found"),
    (ssl.SSLError, "TLS handshake failed"),
)


def connect_failure(error: BaseException) -> str:
    """`connection refused`, `host not found`…: the first known cause in the exception chain."""
    pending, seen = [error], set()
    while pending:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        for kind, reason in CONNECT_FAILURES:
            if isinstance(cause, kind):
                return reason
        linked = [*cause.args, cause.__cause__, cause.__context__, getattr(cause, "reason", None)]
        pending += [c for c in linked if isinstance(c, BaseException)]
    return "connection failed"


def read_error_body(response: requests.Response) -> Any:
    """A non-2xx answer's JSON (at most MAX_ERROR_BODY bytes; None if it is not JSON)."""
    try:
        raw = response.raw.read(MAX_ERROR_BODY, decode_content=True) if response.raw else b""
        return json.loads(raw or response.content or b"null")
    except (ValueError, requests.RequestException, AttributeError):
        return None
    finally:
        response.close()


def read_body(response: requests.Response) -> None:
    """Read a whole body into `response.content`: at most PROVIDER_MAX_RESPONSE_BYTES once
    decoded (a gzip bomb stops at the cap) and within PROVIDER_STREAM_MAX_SECONDS (a server
    dripping bytes resets the read timeout with each one); read1 returns what has arrived."""
    cap = settings.PROVIDER_MAX_RESPONSE_BYTES
    deadline = time.monotonic() + settings.PROVIDER_STREAM_MAX_SECONDS
    body = bytearray()
    try:
        while True:
            piece = response.raw.read1(READ_PIECE, decode_content=True)
            if not piece:
                break
            body += piece
            if len(body) > cap:
                raise ProviderError(
                    "upstream answer is too large", kind="invalid_response", retryable=True
                )
            if time.monotonic() > deadline:
                raise ProviderError(
                    "upstream answer exceeded the total deadline", kind="timeout", retryable=True
                )
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        response.close()
        if isinstance(error, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            raise ProviderError("upstream timed out", kind="timeout", retryable=True) from None
        raise ProviderError(
            "upstream answer broke off", kind="connection", retryable=True
        ) from None
    except ProviderError:
        response.close()
        raise
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]  # requests internal, unstubbed
    response.close()


def sse_events(response: requests.Response) -> Generator[SSEEvent, None, None]:
    """The events of an upstream SSE body, comments skipped; the last one is `[DONE]` when the
    upstream sent it. Each piece (a keep-alive comment too) resets the read timeout, so a stream
    that never ends is bounded here: by a total deadline, and by the bytes read without an event.
    Close the iterator when done with it: that closes the response."""
    parser = SSEParser()
    pieces = response.iter_content(chunk_size=None)
    deadline = time.monotonic() + settings.PROVIDER_STREAM_MAX_SECONDS
    cap, pending = settings.PROVIDER_MAX_RESPONSE_BYTES, 0
    try:
        for piece in pieces:
            if time.monotonic() > deadline:
                raise ProviderError(
                    "upstream stream exceeded the total deadline", kind="timeout", retryable=True
                )
            pending += len(piece)
            if pending > cap:
                raise ProviderError(
                    "upstream stream event is too large", kind="invalid_response", retryable=True
                )
            for event in parser.feed(piece):
                pending = 0
                if is_done(event):
                    _drain(response, pieces)
                    yield event
                    return
                yield event
    except requests.RequestException as error:
        # iter_content reports a read timeout as a ConnectionError wrapping ReadTimeoutError
        if isinstance(error, requests.Timeout) or _is_read_timeout(error):
            raise ProviderError(
                "upstream stream timed out", kind="timeout", retryable=True
            ) from None
        raise ProviderError("upstream stream broke", kind="connection", retryable=True) from None
    finally:
        response.close()


def is_done(event: SSEEvent) -> bool:
    return event.data.strip() == "[DONE]"


def _is_read_timeout(error: requests.RequestException) -> bool:
    return any(isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in error.args)


def _drain(response: requests.Response, pieces: Iterator[bytes]) -> None:
    """Read what follows [DONE] (briefly) so `close()` can return the connection to the pool."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is None:
        return
    previous = sock.gettimeout()
    # StopIteration: the body is consumed and the connection reusable. Anything else (a slow or
    # broken tail): close() drops the connection, as it did without the drain.
    with contextlib.suppress(Exception):
        sock.settimeout(DRAIN_TIMEOUT_SECONDS)
        for _ in range(DRAIN_MAX_PIECES):
            next(pieces)
    with contextlib.suppress(OSError):
        sock.settimeout(previous)


def parse_chunk(data: str) -> Payload:
    """One stream event's JSON; orjson, because this runs for every chunk of every stream."""
    try:
        chunk = orjson.loads(data)
    except ValueError:
        raise ProviderError(
            "upstream sent malformed stream data", kind="invalid_response", retryable=True
        ) from None
    if not isinstance(chunk, dict):
        raise ProviderError(
            "upstream sent malformed stream data", kind="invalid_response", retryable=True
        )
    return chunk


def json_any(response: requests.Response) -> Any:
    """The parsed JSON body, whatever its shape; junk becomes a ProviderError."""
    try:
        return response.json()
    except (ValueError, requests.RequestException):
        raise ProviderError(
            "upstream sent malformed JSON", kind="invalid_response", retryable=True
        ) from None


def json_body(response: requests.Response) -> Payload:
    """The parsed JSON object body; anything else becomes a ProviderError."""
    data = json_any(response)
    if not isinstance(data, dict):
        raise ProviderError(
            "upstream sent an unexpected body", kind="invalid_response", retryable=True
        )
    return data

"""The hardened fetcher for user-supplied image URLs (SSRF-safe GET).

Every hop is checked by gateway.url_guard first; the connection then goes to a validated
address, with Host and TLS SNI set to the original name, so a second DNS answer (rebinding) is
never used. Redirects are followed by hand, each hop checked again, at most
IMAGE_FETCH_MAX_REDIRECTS. Bytes (IMAGE_FETCH_MAX_BYTES, no decompression), time (connect,
first byte, total deadline) and content type (image/*) are bounded.

Every refusal or failure looks the same to the caller (no oracle on the internal network);
only an oversized image is told apart (413).
"""

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from django.conf import settings

from gateway.media.images import ImageTooLarge
from gateway.url_guard import (
    FETCH_ERROR_MESSAGE,
    ImageFetchError,
    Resolver,
    Target,
    check_url,
    is_denied_address,
    system_resolve,
)

__all__ = [
    "FETCH_ERROR_MESSAGE",
    "FetchedImage",
    "ImageFetchError",
    "check_url",
    "fetch_image",
    "is_denied_address",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 * 1024
Connector = Callable[[str, int, float], socket.socket]


@dataclass(frozen=True)
class FetchedImage:
    content: bytes
    content_type: str


def system_connect(ip: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((ip, port), timeout=timeout)


def fetch_image(
    url: str, *, resolve: Resolver = system_resolve, connect: Connector = system_connect
) -> FetchedImage:
    """GET an image URL safely; ImageFetchError on any refusal or failure, ImageTooLarge (413)."""
    deadline = Deadline.start()
    try:
        for _ in range(settings.IMAGE_FETCH_MAX_REDIRECTS + 1):
            target = check_url(url, resolve=resolve)
            with _Exchange(target, connect, deadline) as response:
                if response.status in REDIRECT_STATUSES:
                    url = _redirect_location(target, response)
                    continue
                return _read_image(response)
    except (ImageFetchError, ImageTooLarge):
        raise
    except (OSError, http.client.HTTPException, ValueError, UnicodeError):
        raise ImageFetchError() from None
    raise ImageFetchError()  # too many redirects


def _redirect_location(target: Target, response: http.client.HTTPResponse) -> str:
    location = response.getheader("Location")
    if not location:
        raise ImageFetchError()
    return urljoin(target.url, location.strip())


def _read_image(response: http.client.HTTPResponse) -> FetchedImage:
    if response.status != 200:
        raise ImageFetchError()
    content_type = response.headers.get_content_type()
    encodings = [e.strip().lower() for e in response.headers.get_all("Content-Encoding") or []]
    if not content_type.startswith("image/") or any(e not in ("", "identity") for e in encodings):
        raise ImageFetchError()
    limit = settings.IMAGE_FETCH_MAX_BYTES
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise ImageTooLarge(limit)
    body = bytearray()
    while chunk := response.read(min(READ_CHUNK, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise ImageTooLarge(limit)
    return FetchedImage(content=bytes(body), content_type=content_type)


@dataclass
class Deadline:
    """The fetch's clocks: a total deadline, and a first-byte deadline per request sent."""

    total_at: float
    first_byte_at: float = 0.0
    got_first_byte: bool = True

    @classmethod
    def start(cls) -> "Deadline":
        return cls(total_at=time.monotonic() + settings.IMAGE_FETCH_TOTAL_TIMEOUT_SECONDS)

    def await_first_byte(self) -> None:
        self.first_byte_at = time.monotonic() + settings.IMAGE_FETCH_FIRST_BYTE_TIMEOUT_SECONDS
        self.got_first_byte = False

    def remaining(self, cap: float | None = None) -> float:
        limit = self.total_at if self.got_first_byte else min(self.total_at, self.first_byte_at)
        left = limit - time.monotonic()
        if left <= 0:
            raise TimeoutError("image fetch deadline")
        return min(left, cap) if cap is not None else left


class _DeadlineReader(io.RawIOBase):
    """Socket reads that time out at the deadline, however slowly the peer drips bytes."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.sock.settimeout(self.deadline.remaining())
        count = self.sock.recv_into(buffer)
        self.deadline.got_first_byte = True
        return count


class _DeadlineSocket:
    """What http.client needs of a socket, with every read and write under the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock, self.deadline = sock, deadline

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))

    def close(self) -> None:
        """Ignored: http.client drops its handle early (Connection: close) while the body is
        still read through the file; the exchange closes the real socket when done."""


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a validated address; Host and SNI carry the original name."""

    def __init__(self, target: Target, connect: Connector, deadline: Deadline) -> None:
        super().__init__(target.host, target.port)
        self.target, self.dial, self.deadline = target, connect, deadline
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        sock = self.raw_sock = self._dial_validated()
        if self.target.scheme == "https":
            sock.settimeout(self.deadline.remaining(settings.IMAGE_FETCH_CONNECT_TIMEOUT_SECONDS))
            context = ssl.create_default_context()
            sock = self.raw_sock = context.wrap_socket(sock, server_hostname=self.target.host)
        self.sock = _DeadlineSocket(sock, self.deadline)

    def release(self) -> None:
        self.close()
        if self.raw_sock is not None:
            self.raw_sock.close()

    def _dial_validated(self) -> socket.socket:
        for address in self.target.addresses:
            timeout = self.deadline.remaining(settings.IMAGE_FETCH_CONNECT_TIMEOUT_SECONDS)
            try:
                return self.dial(address, self.target.port, timeout)
            except OSError:
                continue
        raise ConnectionError("no validated address accepted the connection")


class _Exchange:
    """One request on a pinned connection; closes the connection on exit."""

    def __init__(self, target: Target, connect: Connector, deadline: Deadline) -> None:
        self.connection = _PinnedConnection(target, connect, deadline)
        self.target, self.deadline = target, deadline

    def __enter__(self) -> http.client.HTTPResponse:
        headers = {
            "Accept": "image/*",
            "Accept-Encoding": "identity",
            "User-Agent": "OpenProvider-ImageFetch/1.0",
        }
        try:
            self.connection.request("GET", self.target.path, headers=headers)
            self.deadline.await_first_byte()
            return self.connection.getresponse()
        except BaseException:
            self.connection.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.connection.release()

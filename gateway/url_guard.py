"""The SSRF guard for user-supplied image URLs: one parser, every resolved address checked.

One parser (urllib.parse) decides what is fetched. The host is resolved once and every address
must be public by providers.netguard, the address guard upstream provider calls use too
(explicit networks, embedded IPv4 addresses, legacy IPv4 spellings read as the C resolver reads
them). Only exact "host:port" pairs an operator lists in IMAGE_FETCH_ALLOWED_HOSTS skip it.

Every refusal raises the same ImageFetchError (no oracle on the internal network).
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from gateway.api.errors import ApiError
from providers.netguard import (
    Address,
    Resolver,
    is_allowed,
    is_denied_address,
    parse_ip_literal,
    system_resolve,
)

__all__ = ["ImageFetchError", "Resolver", "Target", "is_denied_address", "system_resolve"]

FETCH_ERROR_MESSAGE = "The image URL could not be fetched or is not allowed."
MAX_URL_LENGTH = 2048
DENIED_HOST_SUFFIXES = ("localhost", "internal", "local", "localdomain", "home.arpa")
HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


class ImageFetchError(ApiError):
    """400 invalid_image_url: blocked, unreachable, refused, timed out or not an image."""

    def __init__(self) -> None:
        super().__init__(
            FETCH_ERROR_MESSAGE, status=400, code="invalid_image_url", param="image_url"
        )


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (validated addresses only) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check_url(url: str, *, resolve: Resolver = system_resolve) -> Target:
    """Parse, resolve and check a URL without fetching it; raise ImageFetchError if refused."""
    parts = _parse(url)
    host = parts.hostname or ""
    port = _port(parts)
    allowed = _operator_allowed(host, port)
    addresses = _addresses(host, resolve, allowed=allowed)
    if not allowed and not all(is_allowed(address) for address in addresses):
        raise ImageFetchError()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=port,
        path=path,
        addresses=tuple(str(a) for a in addresses),
    )


def check_forwarded_url(url: str) -> None:
    """A URL handed to a provider, which fetches it itself: the same parser and literal checks.

    No DNS lookup (the provider resolves the name on its own network), but loopback, private,
    link-local and metadata hosts written as literals or well-known names are refused, so a
    self-hosted provider on the operator's network is never pointed at its neighbours.
    """
    parts = _parse(url)
    host = parts.hostname or ""
    port = _port(parts)
    if _operator_allowed(host, port):
        return
    literal = _ip_literal(host)
    if literal is not None:
        if not is_allowed(literal):
            raise ImageFetchError()
        return
    name = host.removesuffix(".")
    if not HOSTNAME.fullmatch(host) or len(name) > 253 or _denied_name(name):
        raise ImageFetchError()


def _parse(url: Any) -> SplitResult:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise ImageFetchError()
    if not url.isascii() or "\\" in url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise ImageFetchError()
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise ImageFetchError() from None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        raise ImageFetchError()  # userinfo is never accepted, not even an empty one
    if not hostname or "%" in hostname:
        raise ImageFetchError()
    return parts


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise ImageFetchError() from None
    if port is None:
        return 443 if parts.scheme == "https" else 80
    if not 0 < port < 65536:
        raise ImageFetchError()
    return port


def _addresses(host: str, resolve: Resolver, *, allowed: bool) -> list[Address]:
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    name = host.removesuffix(".")
    if not HOSTNAME.fullmatch(host) or len(name) > 253 or (_denied_name(name) and not allowed):
        raise ImageFetchError()
    try:
        answers = resolve(name)
        addresses = [ipaddress.ip_address(str(a).split("%", 1)[0]) for a in answers]
    except (OSError, UnicodeError, ValueError):
        raise ImageFetchError() from None
    if not addresses:
        raise ImageFetchError()
    return addresses


def _ip_literal(host: str) -> Address | None:
    """An IP address written in the host, legacy IPv4 forms (127.1, 0x7f000001, 0177…) too."""
    try:
        return parse_ip_literal(host)
    except ValueError:
        raise ImageFetchError() from None


def _denied_name(name: str) -> bool:
    return name == "metadata.google.internal" or any(
        name == suffix or name.endswith("." + suffix) for suffix in DENIED_HOST_SUFFIXES
    )


def _operator_allowed(host: str, port: int) -> bool:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" in settings.IMAGE_FETCH_ALLOWED_HOSTS

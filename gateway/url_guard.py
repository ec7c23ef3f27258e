"""The SSRF guard for user-supplied URLs: one parser, explicit deny lists, every address checked.

One parser (urllib.parse) decides what is fetched. The host is resolved once and every address
is checked against explicit networks (CPython 3.11.7's ipaddress flags are not trusted:
CVE-2024-4032), embedded IPv4 addresses (mapped, NAT64, 6to4) included. Legacy IPv4 spellings
(127.1, 0x7f000001, 0177.0.0.1) are read the way the C resolver reads them. Only exact
"host:port" pairs an operator lists in IMAGE_FETCH_ALLOWED_HOSTS skip the deny list.

Every refusal raises the same ImageFetchError (no oracle on the internal network).
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from .errors import ApiError

FETCH_ERROR_MESSAGE = "The image URL could not be fetched or is not allowed."
MAX_URL_LENGTH = 2048
DENIED_HOST_SUFFIXES = ("localhost", "internal", "local", "localdomain", "home.arpa")
HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network
DENIED_V4 = tuple(
    _v4(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (and 100.100.100.200, a cloud metadata address)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local
        "169.254.169.254/32",  # cloud metadata, named on purpose
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",
    )
)
DENIED_V6 = tuple(
    _v6(cidr)
    for cidr in (
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64: the embedding depends on the site's prefix length
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo 2001::/32 among them
        "2001:db8::/32",
        "3fff::/20",  # documentation
        "fc00::/7",  # unique local
        "fd00:ec2::254/128",  # AWS metadata, named on purpose
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
GLOBAL_UNICAST_V6 = _v6("2000::/3")
IPV4_MAPPED = _v6("::ffff:0:0/96")
NAT64_WELL_KNOWN = _v6("64:ff9b::/96")
SIX_TO_FOUR = _v6("2002::/16")


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


def system_resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_denied_address(address: Address) -> bool:
    """True if the address must never be connected to (explicit networks, embedded IPv4 too)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _translated_ipv4(address)
        if embedded is not None:
            return is_denied_address(embedded)
        if address in SIX_TO_FOUR and is_denied_address(_six_to_four_ipv4(address)):
            return True
        if address not in GLOBAL_UNICAST_V6:
            return True
        return any(address in network for network in DENIED_V6)
    return any(address in network for network in DENIED_V4)


def _translated_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or well-known-NAT64 address really reaches."""
    if address in IPV4_MAPPED or address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _six_to_four_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)


def check_url(url: str, *, resolve: Resolver = system_resolve) -> Target:
    """Parse, resolve and check a URL without fetching it; raise ImageFetchError if refused."""
    parts = _parse(url)
    host = parts.hostname or ""
    port = _port(parts)
    allowed = _operator_allowed(host, port)
    addresses = _addresses(host, resolve, allowed=allowed)
    if not allowed and any(is_denied_address(address) for address in addresses):
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
        if is_denied_address(literal):
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
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise ImageFetchError() from None
    name = host.removesuffix(".")
    if not NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        return None
    try:  # the C resolver reads these forms the same way, so parse them as it would
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        raise ImageFetchError() from None


def _denied_name(name: str) -> bool:
    return name == "metadata.google.internal" or any(
        name == suffix or name.endswith("." + suffix) for suffix in DENIED_HOST_SUFFIXES
    )


def _operator_allowed(host: str, port: int) -> bool:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" in settings.IMAGE_FETCH_ALLOWED_HOSTS

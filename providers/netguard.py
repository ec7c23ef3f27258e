"""Which addresses the server may connect to: one guard for upstream calls and image fetches.

Decisions are made on IP addresses, never on URL text: a host is resolved and every address the
socket may connect to is checked. Networks are explicit (CPython 3.11.7's ipaddress flags are not
trusted: CVE-2024-4032), and IPv6 forms that reach an IPv4 address (IPv4-mapped, NAT64, 6to4,
IPv4-compatible) are checked as that IPv4 address too. Numeric host spellings (2130706433,
0x7f000001, 127.1, 0177.0.0.1) are read the way the C resolver reads them.

Three verdicts:
- never reachable (`is_never_allowed`): link-local, cloud metadata, the unspecified address,
  multicast, broadcast and reserved space, in any spelling, whatever any setting says;
- public (`not is_denied_address`): what a tenant's URL may always reach;
- everything else (loopback, private, CGNAT, documentation…): only the networks an operator
  lists, e.g. OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS for custom provider base URLs.

Upstream calls check the resolved address at connect time (`GuardedHTTPAdapter`), so a name that
was public when saved and resolves to 169.254.169.254 later (DNS rebinding) is still refused.
"""

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any

import requests
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]
Policy = Callable[[Address], bool]

NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*", re.IGNORECASE)
# Names every resolver maps to the local host (RFC 6761), so they are read as loopback literals.
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})

_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network
NEVER_V4 = tuple(
    _v4(cidr)
    for cidr in (
        "0.0.0.0/8",  # unspecified / "this network": 0.0.0.0 reaches the local host
        "169.254.0.0/16",  # link-local, 169.254.169.254 (AWS, GCP, Azure, OCI metadata) in it
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure host agent (wireserver)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, 255.255.255.255 (broadcast) in it
    )
)
NEVER_V6 = tuple(
    _v6(cidr)
    for cidr in (
        "::/128",  # unspecified
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated), scoped like link-local
        "ff00::/8",  # multicast
    )
)
DENIED_V4 = tuple(
    _v4(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (and 100.100.100.200, a cloud metadata address)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local
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
    )
)
DENIED_V6 = tuple(
    _v6(cidr)
    for cidr in (
        "64:ff9b:1::/48",  # local-use NAT64: the embedding depends on the site's prefix length
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo 2001::/32 among them
        "2001:db8::/32",
        "3fff::/20",  # documentation
    )
)
GLOBAL_UNICAST_V6 = _v6("2000::/3")  # anything outside (::1, fc00::/7, fe80::/10…) is denied
IPV4_MAPPED = _v6("::ffff:0:0/96")
IPV4_TRANSLATED = _v6("::ffff:0:0:0/96")
IPV4_COMPATIBLE = _v6("::/96")
NAT64_WELL_KNOWN = _v6("64:ff9b::/96")
SIX_TO_FOUR = _v6("2002::/16")


# ---- address verdicts ------------------------------------------------------------------------
def reached_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or well-known-NAT64 address really connects to."""
    if isinstance(address, ipaddress.IPv6Address) and (
        address in IPV4_MAPPED or address in NAT64_WELL_KNOWN
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def carried_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """Any IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, compatible, translated)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in SIX_TO_FOUR:
        return _six_to_four_ipv4(address)
    if address in IPV4_TRANSLATED or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)  # :: and ::1 are not IPv4
    return reached_ipv4(address)


def _six_to_four_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)


def is_never_allowed(address: Address) -> bool:
    """Link-local, metadata, unspecified, multicast, broadcast or reserved, in any spelling."""
    inner = carried_ipv4(address)
    if inner is not None and is_never_allowed(inner):
        return True
    networks = NEVER_V4 if isinstance(address, ipaddress.IPv4Address) else NEVER_V6
    return any(address in network for network in networks)


def is_denied_address(address: Address) -> bool:
    """True unless the address is public (what an IPv6 address reaches checked as itself)."""
    if isinstance(address, ipaddress.IPv4Address):
        return any(address in network for network in DENIED_V4)
    reached = reached_ipv4(address)
    if reached is not None:
        return is_denied_address(reached)
    if address in SIX_TO_FOUR and is_denied_address(_six_to_four_ipv4(address)):
        return True
    if address not in GLOBAL_UNICAST_V6:
        return True
    return any(address in network for network in DENIED_V6)


def is_allowed(address: Address, networks: Iterable[Network] = ()) -> bool:
    """Public, or in one of `networks`; never a never-allowed address whatever they say."""
    if is_never_allowed(address):
        return False
    if not is_denied_address(address):
        return True
    target = reached_ipv4(address) or address
    return any(target in network for network in networks)


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def custom_provider_networks() -> tuple[Network, ...]:
    """The private networks a custom provider may reach (OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS)."""
    return _networks(tuple(settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS))


def tenant_may_reach(address: Address) -> bool:
    """A base URL a tenant supplied: public addresses and the operator's listed networks."""
    return is_allowed(address, custom_provider_networks())


def operator_may_reach(address: Address) -> bool:
    """A URL the operator set (built-in providers, OPENPROVIDER_BASE_URL_<SLUG>): anything but
    never-allowed addresses; loopback and private networks are the operator's choice."""
    return not is_never_allowed(address)


# ---- host text -------------------------------------------------------------------------------
def parse_ip_literal(host: str) -> Address | None:
    """The address a host written as an IP literal names, legacy IPv4 forms (127.1, 2130706433,
    0x7f000001, 0177.0.0.1) read as the C resolver reads them; None for a name.

    ValueError for a host that looks numeric but is no address (999.1.1.1, [::zz])."""
    host = host.strip("[]")
    if ":" in host:
        return ipaddress.IPv6Address(host.split("%", 1)[0])
    name = host.removesuffix(".")
    if not NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        raise ValueError(f"not an IPv4 address: {name[:60]!r}") from None


def well_known_addresses(host: str) -> tuple[Address, ...]:
    """The addresses a name stands for everywhere without DNS (localhost, metadata names)."""
    name = host.removesuffix(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
    if name in METADATA_NAMES:
        return (ipaddress.IPv4Address("169.254.169.254"),)
    return ()


def system_resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# ---- the connect-time guard for upstream HTTP --------------------------------------------------
class AddressNotAllowed(Exception):
    """The host resolves only to addresses this connection may not reach.

    Not an OSError on purpose: urllib3 and requests pass it through unwrapped and untried.
    """


def allowed_addresses(host: str, port: int, allows: Policy) -> list[str]:
    """The host's addresses `allows` accepts, in resolver order; AddressNotAllowed if none."""
    infos = socket.getaddrinfo(host.strip("[]"), port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    addresses = dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos)
    allowed = [a for a in addresses if allows(ipaddress.ip_address(a))]
    if not allowed:
        raise AddressNotAllowed(host)
    return allowed


class _GuardedConnection:
    """urllib3's connection, but the socket only ever connects to an address the policy allows.

    Host header, TLS SNI and certificate checks keep the original name; only the dial changes.
    """

    allows: Policy
    _dns_host: str
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = allowed_addresses(self._dns_host, self.port, self.allows)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]
        failure: OSError | None = None
        for address in addresses:
            try:
                return urllib3.util.connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as error:
                failure = error
        if isinstance(failure, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from failure
        raise NewConnectionError(  # chained: providers.transport names the cause
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {failure}",
        ) from failure


@functools.cache
def _pool_classes(allows: Policy) -> dict[str, type[HTTPConnectionPool]]:
    """HTTP and HTTPS pool classes whose connections dial through `allows`."""
    policy = staticmethod(allows)
    http = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"allows": policy})
    https = type(
        "GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"allows": policy}
    )
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type(
            "GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}
        ),
    }


class GuardedHTTPAdapter(requests.adapters.HTTPAdapter):
    """requests' pooled transport whose every new connection is checked by `allows`."""

    def __init__(self, allows: Policy, **kwargs: Any) -> None:
        self.allows = allows  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allows)

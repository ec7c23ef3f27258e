"""The address guard for upstream calls: save-time checks on the URL, connect-time checks on the
address the socket would really reach (issue 14: SSRF through a custom provider's base URL)."""

import contextlib
import io
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import urllib3
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from providers.errors import ProviderError
from providers.netguard import is_allowed, is_never_allowed, parse_ip_literal
from providers.registry import PROVIDERS
from providers.services import (
    NEVER_ALLOWED_MESSAGE,
    PRIVATE_ADDRESS_MESSAGE,
    credential_validate,
    validate_base_url,
)
from tests.gateway.loopback_http import LoopbackServer, reply

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ["0.0.0.0/0", "::/0"]  # an operator listing every network still gets no metadata
LOOPBACK = ["127.0.0.0/8", "::1/128"]

# 169.254.169.254 as the attacker wrote it, plus the other forms that reach it.
METADATA_SPELLINGS = [
    "2852039166",
    "0xa9fea9fe",
    "169.254.43518",
    "0251.0376.0251.0376",
    "0xa9.0xfe.0xa9.0xfe",
    "[64:ff9b::a9fe:a9fe]",
    "[::ffff:a9fe:a9fe]",
    "[::ffff:169.254.169.254]",
    "[2002:a9fe:a9fe::1]",
]
OTHER_NEVER_ALLOWED = [
    "[fd00:ec2::254]",
    "100.100.100.200",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "0.0.0.0",  # noqa: S104 - a URL host here, not a bind address
    "0",
    "[::]",
    "224.0.0.1",
    "255.255.255.255",
    "[ff02::1]",
    "metadata.google.internal",
]
LOOPBACK_SPELLINGS = ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "[::1]", "localhost"]


# ---- verdicts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "never"),
    [
        ("169.254.169.254", True),
        ("::ffff:169.254.169.254", True),
        ("64:ff9b::a9fe:a9fe", True),
        ("2002:a9fe:a9fe::", True),
        ("::a9fe:a9fe", True),
        ("fd00:ec2::254", True),
        ("0.0.0.0", True),  # noqa: S104 - an address under test, not a bind address
        ("::", True),
        ("239.1.2.3", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("fc00::1", False),
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
    ],
)
def test_never_allowed_addresses_in_every_form(address, never):
    assert is_never_allowed(ipaddress.ip_address(address)) is never


@pytest.mark.parametrize(
    ("address", "networks", "allowed"),
    [
        ("8.8.8.8", [], True),
        ("2606:4700::1111", [], True),
        ("127.0.0.1", [], False),
        ("::ffff:127.0.0.1", [], False),
        ("64:ff9b::7f00:1", [], False),
        ("10.0.0.5", [], False),
        ("100.64.0.1", [], False),
        ("fc00::1", [], False),
        ("127.0.0.1", ["127.0.0.0/8"], True),
        ("::ffff:127.0.0.1", ["127.0.0.0/8"], True),  # reaches 127.0.0.1
        ("::1", ["127.0.0.0/8"], False),
        ("10.0.0.5", ["127.0.0.0/8"], False),
        ("169.254.169.254", EVERYTHING, False),
        ("fe80::1", EVERYTHING, False),
        ("10.0.0.5", EVERYTHING, True),
    ],
)
def test_private_addresses_only_in_listed_networks(address, networks, allowed):
    parsed = [ipaddress.ip_network(n) for n in networks]

    assert is_allowed(ipaddress.ip_address(address), parsed) is allowed


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
        ("api.groq.com", None),
    ],
)
def test_numeric_hosts_are_read_as_the_resolver_reads_them(host, address):
    parsed = parse_ip_literal(host)

    expected = ipaddress.ip_address(address) if address else None
    assert parsed == expected
    if expected is not None:  # the C resolver agrees (numeric hosts never reach DNS)
        assert ipaddress.ip_address(socket.getaddrinfo(host.strip("[]"), 80)[0][4][0]) == expected


# ---- save time -------------------------------------------------------------------------------
@pytest.mark.parametrize("host", METADATA_SPELLINGS + OTHER_NEVER_ALLOWED)
def test_never_allowed_hosts_are_refused_when_saved_whatever_the_setting(settings, host):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = EVERYTHING

    with pytest.raises(ValidationError) as raised:
        credential_validate(
            provider="custom", name="lab", base_url=f"http://{host}:9101/v1", account_id=""
        )

    assert raised.value.message_dict == {"base_url": [NEVER_ALLOWED_MESSAGE]}


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "10.0.0.5", "[fc00::1]", "100.64.0.1"])
def test_private_hosts_are_refused_when_saved_in_production(settings, host):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []

    with pytest.raises(ValidationError) as raised:
        validate_base_url(f"http://{host}:9101/v1")

    assert raised.value.messages == [PRIVATE_ADDRESS_MESSAGE]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_listed_networks_may_be_saved(settings, host):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = LOOPBACK

    validate_base_url(f"http://{host}:11434/v1")


def test_public_hosts_and_names_are_saved_without_a_lookup(settings, monkeypatch):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []
    monkeypatch.setattr(socket, "getaddrinfo", _no_lookup)

    validate_base_url("https://llm.example.org/v1")
    validate_base_url("http://8.8.8.8/v1")
    validate_base_url("http://[2606:4700::1111]/v1")


def test_a_malformed_numeric_host_is_a_form_error():
    with pytest.raises(ValidationError):
        validate_base_url("http://999.1.1.1/v1")


def test_the_cli_shows_the_refusal(db, user, settings):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = EVERYTHING
    with pytest.raises(CommandError, match="never allowed"):
        call_command(
            "set_provider_key",
            user.email,
            "custom",
            "--name=lab",
            "--base-url=http://0xa9fea9fe/v1",
            stdin=io.StringIO("k\n"),
        )


# ---- connect time ----------------------------------------------------------------------------
@pytest.fixture
def dns(monkeypatch):
    """Script DNS answers: dns["name.test"] = ["169.254.169.254"]; numeric hosts resolve as
    always, any other name fails (no lookup leaves the machine)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host in answers:
            return [_info(address, port) for address in answers[host]]
        if parse_ip_literal(host) is None:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def dials(monkeypatch):
    """Every address a socket connects to; nothing but loopback is ever really dialled."""
    dialled: list[str] = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        dialled.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise ConnectionRefusedError("test: only loopback is dialled")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return dialled


@pytest.fixture
def real_transport(http_mock):
    """Let these tests' calls reach the real connection code (the guard raises before any
    socket for a refused address; `dials` keeps everything else on loopback)."""
    http_mock.add_passthru(re.compile(r"https?://"))


@pytest.fixture
def internal_service():
    """An internal service on loopback: answers every GET with its secrets."""
    body = b'{"data": [], "secret": "INTERNAL-ADMIN-TOKEN"}'
    with LoopbackServer(
        lambda _, h: reply(h, 200, {"Content-Type": "application/json"}, body)
    ) as s:
        yield s


def custom(base_url: str):
    spec = PROVIDERS["custom"]
    return spec.adapter(spec, api_key="k", base_url=base_url)


def _info(address: str, port: int):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
    return (family, socket.SOCK_STREAM, 6, "", sockaddr)


def _no_lookup(*args, **kwargs):
    raise AssertionError("no DNS lookup at save time")


@pytest.mark.usefixtures("real_transport")
@pytest.mark.parametrize("host", METADATA_SPELLINGS)
def test_every_metadata_spelling_is_refused_at_connect_time(settings, dials, host):
    # a row saved before the save-time check existed, or written straight to the database
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = EVERYTHING

    with pytest.raises(ProviderError) as raised:
        custom(f"http://{host}/v1").check()

    assert "not allowed" in raised.value.message
    assert dials == []


@pytest.mark.usefixtures("real_transport")
@pytest.mark.parametrize("answer", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"])
def test_dns_rebinding_to_metadata_is_refused_at_connect_time(settings, dns, dials, answer):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = EVERYTHING
    validate_base_url("http://rebind.example.org/v1")  # saved while the name looked public
    dns["rebind.example.org"] = [answer]  # ... and rebound since

    with pytest.raises(ProviderError) as raised:
        custom("http://rebind.example.org/v1").chat({"model": "m", "messages": []})

    assert "not allowed" in raised.value.message
    assert dials == []


@pytest.mark.usefixtures("real_transport")
def test_loopback_spelled_as_a_number_is_refused_in_production(settings, dials, internal_service):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []

    with pytest.raises(ProviderError) as raised:
        custom(f"http://2130706433:{internal_service.port}/v1").list_models()

    assert raised.value.kind == "connection"
    assert dials == []
    assert internal_service.hits == []


@pytest.mark.usefixtures("real_transport")
def test_a_listed_network_is_reached_under_the_original_host_name(
    settings, dns, dials, internal_service
):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    dns["ollama.lan.example"] = ["127.0.0.1"]

    custom(f"http://ollama.lan.example:{internal_service.port}/v1").check()

    assert dials == ["127.0.0.1"]
    assert internal_service.hits[0].headers["host"] == f"ollama.lan.example:{internal_service.port}"


@pytest.mark.usefixtures("real_transport")
def test_only_allowed_answers_are_dialled_when_a_name_has_several(
    settings, dns, dials, internal_service
):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    dns["mixed.example.org"] = ["169.254.169.254", "10.0.0.7", "127.0.0.1"]

    custom(f"http://mixed.example.org:{internal_service.port}/v1").check()

    assert dials == ["127.0.0.1"]
    assert len(internal_service.hits) == 1


@pytest.mark.usefixtures("real_transport")
def test_operator_base_urls_reach_loopback_but_never_metadata(
    settings, dns, dials, internal_service
):
    # built-in providers and OPENPROVIDER_BASE_URL_<SLUG> are the operator's: not the tenants'
    # networks setting, but the never-allowed addresses still apply
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []
    settings.OPENPROVIDER_BASE_URL_OLLAMA = f"http://127.0.0.1:{internal_service.port}/v1"
    spec = PROVIDERS["ollama"]

    spec.adapter(spec).check()

    assert len(internal_service.hits) == 1
    dns["proxy.example.org"] = ["169.254.169.254"]
    settings.OPENPROVIDER_BASE_URL_OLLAMA = "http://proxy.example.org/v1"
    with pytest.raises(ProviderError, match="not allowed"):
        spec.adapter(spec).check()
    assert dials == ["127.0.0.1"]


@pytest.mark.usefixtures("real_transport")
def test_tls_dials_the_checked_address_but_sends_the_original_name(settings, dns, dials):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    dns["secure.lan.example"] = ["127.0.0.1"]
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=_one_tls_handshake, args=(listener, context))
        server.start()
        with pytest.raises(ProviderError):  # no certificate: the handshake fails after the hello
            custom(f"https://secure.lan.example:{listener.getsockname()[1]}/v1").check()
        server.join(timeout=30)

    assert dials == ["127.0.0.1"]
    assert names == ["secure.lan.example"]


def _one_tls_handshake(listener: socket.socket, context: ssl.SSLContext) -> None:
    listener.settimeout(30)
    connection, _ = listener.accept()
    with connection, contextlib.suppress(OSError):
        context.wrap_socket(connection, server_side=True)


@pytest.mark.usefixtures("real_transport")
def test_an_internal_services_answer_is_never_relayed(settings, dials):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = LOOPBACK
    body = b'{"error": {"message": "INTERNAL-ADMIN-TOKEN in redis://10.0.0.3"}}'

    with (
        LoopbackServer(lambda _, h: reply(h, 404, {}, body)) as server,
        pytest.raises(ProviderError) as raised,
    ):
        custom(server.url("/v1")).check()

    assert raised.value.message == "not found: HTTP 404"


# ---- settings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("debug", "expected"),
    [
        ("true", "127.0.0.0/8 ::1/128 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"),
        ("false", ""),
    ],
)
def test_custom_provider_networks_default_to_local_under_debug_and_none_in_production(
    debug, expected
):
    result = settings_probe(DEBUG=debug)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == expected


def test_a_malformed_network_stops_start_up_naming_the_setting():
    result = settings_probe(DEBUG="false", OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS="10.0.0.0/8,lan")

    assert result.returncode != 0
    assert "ImproperlyConfigured: OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS: 'lan'" in result.stderr


def settings_probe(**variables: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter and print the networks setting."""
    env = {k: v for k, v in os.environ.items() if k != "OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS"}
    probe = "import config.settings as s; print(' '.join(s.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS))"
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

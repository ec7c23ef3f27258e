"""The image-URL fetcher refuses internal targets and bounds bytes and time."""

import datetime
import ipaddress
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gateway.media.images import ImageTooLarge
from gateway.media.safe_fetch import (
    FETCH_ERROR_MESSAGE,
    ImageFetchError,
    check_url,
    fetch_image,
    is_denied_address,
)
from tests.fakeprovider import tiny_png
from tests.gateway.loopback_http import LoopbackServer, image_server, reply

PUBLIC_IP = "93.184.216.34"
PNG = tiny_png()


class ScriptedResolver:
    """DNS answers from a script (one list per call, the last repeats); records every lookup."""

    def __init__(self, *answers: list[str] | Exception) -> None:
        self.answers = list(answers) or [[PUBLIC_IP]]
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        answer = self.answers[min(len(self.lookups), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


class RecordingConnector:
    """Records every dial; dials loopback on the same port when `to_loopback` (for pinning)."""

    def __init__(self, *, to_loopback: bool = False) -> None:
        self.calls: list[tuple[str, int]] = []
        self.to_loopback = to_loopback

    def __call__(self, ip: str, port: int, timeout: float) -> socket.socket:
        self.calls.append((ip, port))
        if not self.to_loopback:
            raise AssertionError(f"the fetcher dialled {ip}:{port}")
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def refused(url: str, resolver: ScriptedResolver, connector: RecordingConnector) -> ImageFetchError:
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(url, resolve=resolver, connect=connector)
    assert connector.calls == []
    return caught.value


@pytest.fixture
def allow(settings) -> list[str]:
    """The operator allow-list, empty unless a test adds a loopback host:port."""
    settings.IMAGE_FETCH_ALLOWED_HOSTS = []
    return settings.IMAGE_FETCH_ALLOWED_HOSTS


BLOCKED_LITERALS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://localhost./",
    "http://app.localhost/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://0.0.0.0/",
    "http://0.0.0.0:8080/",
    "http://[::]/",
    "http://0/",
    "http://0.1.2.3/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::808:808]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a00:1::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[::127.0.0.1]/",
    "http://100.64.0.1/",
    "http://100.100.100.200/",
    "http://198.18.0.1/",
    "http://192.0.0.8/",
    "http://192.0.2.1/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "https://127.0.0.1:443/",
]


@pytest.mark.parametrize("url", BLOCKED_LITERALS)
def test_internal_targets_are_refused_without_any_connection(url, allow):
    resolver, connector = ScriptedResolver(), RecordingConnector()

    error = refused(url, resolver, connector)

    assert error.status_code == 400
    assert error.code == "invalid_image_url"
    if "[" in url or url.split("/")[2].split(":")[0][0].isdigit():
        assert resolver.lookups == []  # literals are judged as written, never looked up


@pytest.mark.parametrize(
    "answer",
    [
        ["10.1.2.3"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["fd00::1"],
        ["::ffff:10.0.0.1"],
        ["fe80::1%eth0"],
        [PUBLIC_IP, "10.0.0.1"],  # multi-A answer with one private entry
        ["2606:4700::1111", "fc00::5"],
    ],
)
def test_a_name_that_resolves_to_an_internal_address_is_refused(answer, allow):
    resolver, connector = ScriptedResolver(answer), RecordingConnector()

    refused("https://images.example.com/cat.png", resolver, connector)

    assert resolver.lookups == ["images.example.com"]


def test_the_guard_is_on_by_default():
    assert django_settings.IMAGE_FETCH_ALLOWED_HOSTS == []
    assert django_settings.IMAGE_FETCH_MAX_REDIRECTS <= 3


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass_the_deny_list(ip):
    assert not is_denied_address(ipaddress.ip_address(ip))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/_GET",
        "dict://example.com:11211/stat",
        "data:image/png;base64,iVBORw0KGgo=",
        "jar:http://example.com/a.jar!/a.png",
        "\\\\host\\share\\a.png",
        "http:/x",
        "//example.com/a.png",
        "javascript:alert(1)",
        "",
    ],
)
def test_only_http_and_https_urls_are_fetched(url, allow):
    refused(url, ScriptedResolver(), RecordingConnector())


def test_scheme_case_is_normalised_by_the_single_parser():
    target = check_url("HTTP://Images.Example.com/a.png", resolve=ScriptedResolver())

    assert (target.scheme, target.host, target.addresses) == (
        "http",
        "images.example.com",
        (PUBLIC_IP,),
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1\\@evil.example/",
        "http://user:pass@evil.example/",
        "http://@evil.example/",
        "http://evil.example@127.0.0.1/",
        "http://\u0435xample.com/",  # Cyrillic small ie: an IDN homograph of example.com
        "http://evil.example%00.127.0.0.1/",
        "http://evil.example /a.png",
        "http://evil.example\t/a.png",
        "http://127.0.0.1:80:80/",
        "http://evil.example:0/",
        "http://evil.example:99999/",
        "http://[::1/",
        "http://evil.example/" + "a" * 8192,
    ],
)
def test_parser_confusion_is_refused(url, allow):
    refused(url, ScriptedResolver(), RecordingConnector())


@pytest.mark.parametrize(
    "url", ["http://evil.example#@127.0.0.1/a.png", "http://evil.example?@127.0.0.1/a.png"]
)
def test_fragments_and_queries_never_change_the_host(url):
    target = check_url(url, resolve=ScriptedResolver())

    assert target.host == "evil.example"
    assert target.addresses == (PUBLIC_IP,)


SMALL_ASCII = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=40)
HOSTILE_HOSTS = st.one_of(
    SMALL_ASCII,
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.sampled_from(["localhost", "127.1", "0x7f.1", "[::ffff:10.0.0.1]", "evil.example"]),
)


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "file", "gopher", ""]),
    userinfo=st.sampled_from(["", "user@", "user:pass@", "@", "a%40b@"]),
    host=HOSTILE_HOSTS,
    port=st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), SMALL_ASCII),
    path=SMALL_ASCII,
    answers=st.lists(st.ip_addresses().map(str), max_size=3),
)
def test_the_url_guard_raises_only_its_domain_error(scheme, userinfo, host, port, path, answers):
    url = f"{scheme}://{userinfo}{host}{port}/{path}"
    try:
        target = check_url(url, resolve=ScriptedResolver(answers))
    except ImageFetchError:
        return
    assert all(not is_denied_address(ipaddress.ip_address(a)) for a in target.addresses)


@given(st.text(max_size=200))
def test_any_text_is_either_a_checked_target_or_the_domain_error(text):
    try:
        check_url(text, resolve=ScriptedResolver(["10.0.0.1"]))
    except ImageFetchError:
        return
    raise AssertionError("a URL resolving to 10.0.0.1 was accepted")


# Network behaviour against real loopback servers (the allow-list stands in for "public").


def test_an_allow_listed_server_is_fetched_with_identity_encoding(allow):
    with image_server(PNG) as server:
        allow.append(f"127.0.0.1:{server.port}")

        fetched = fetch_image(server.url())

    assert (fetched.content, fetched.content_type) == (PNG, "image/png")
    assert server.hits[0].headers["accept-encoding"] == "identity"
    assert server.hits[0].headers["host"] == f"127.0.0.1:{server.port}"


def test_loopback_is_refused_unless_its_exact_host_and_port_are_allow_listed(allow):
    with image_server(PNG) as server, image_server(PNG) as other:
        allow.append(f"127.0.0.1:{other.port}")

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())

    assert server.hits == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_an_internal_address_is_refused(status, allow):
    with image_server(PNG) as internal:
        location = internal.url()
        with LoopbackServer(lambda _, h: reply(h, status, {"Location": location})) as public:
            allow.append(f"127.0.0.1:{public.port}")

            with pytest.raises(ImageFetchError):
                fetch_image(public.url())

    assert len(public.hits) == 1
    assert internal.hits == []


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http://169.254.169.254/"]
)
def test_a_redirect_to_another_scheme_or_metadata_is_refused(location, allow):
    with LoopbackServer(lambda _, h: reply(h, 302, {"Location": location})) as public:
        allow.append(f"127.0.0.1:{public.port}")

        with pytest.raises(ImageFetchError):
            fetch_image(public.url())


def test_redirects_stop_after_the_hop_limit(allow):
    with LoopbackServer(lambda _, h: reply(h, 302, {"Location": "/again"})) as loop:
        allow.append(f"127.0.0.1:{loop.port}")

        with pytest.raises(ImageFetchError):
            fetch_image(loop.url())

    assert len(loop.hits) == django_settings.IMAGE_FETCH_MAX_REDIRECTS + 1


def test_a_relative_redirect_on_an_allowed_host_is_followed_and_revalidated(allow):
    def respond(_, handler):
        if handler.path == "/old.png":
            reply(handler, 301, {"Location": "/new.png"})
        else:
            reply(handler, 200, {"Content-Type": "image/png"}, PNG)

    with LoopbackServer(respond) as server:
        allow.append(f"127.0.0.1:{server.port}")

        fetched = fetch_image(server.url("/old.png"))

    assert fetched.content == PNG
    assert [hit.path for hit in server.hits] == ["/old.png", "/new.png"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/html"},
        {"Content-Type": "application/json"},
        {},
        {"Content-Type": "image/png", "Content-Encoding": "gzip"},
        {"Content-Type": "image/png", "Content-Encoding": "br"},
    ],
)
def test_non_image_or_encoded_responses_are_refused(headers, allow):
    with LoopbackServer(lambda _, h: reply(h, 200, headers, PNG)) as server:
        allow.append(f"127.0.0.1:{server.port}")

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())


def test_an_error_status_is_refused(allow):
    with LoopbackServer(lambda _, h: reply(h, 404, {"Content-Type": "image/png"}, PNG)) as server:
        allow.append(f"127.0.0.1:{server.port}")

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())


def _raw(handler, head: bytes, body_chunks=(), delay: float = 0.0) -> None:
    handler.wfile.write(head)
    handler.wfile.flush()
    for chunk in body_chunks:
        if handler.server_ref.stopping.is_set():
            return
        handler.wfile.write(chunk)
        handler.wfile.flush()
        time.sleep(delay)


def raw_server(head: bytes, body_chunks=(), delay: float = 0.0) -> LoopbackServer:
    def respond(server, handler):
        handler.server_ref = server
        _raw(handler, head, body_chunks, delay)
        handler.close_connection = True

    return LoopbackServer(respond)


def test_a_declared_huge_length_is_413_before_reading(allow, settings):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 5368709120\r\n\r\n"
    with raw_server(head, [b"x" * 1024] * 3) as server:
        allow.append(f"127.0.0.1:{server.port}")

        with pytest.raises(ImageTooLarge) as caught:
            fetch_image(server.url())

    assert (caught.value.status_code, caught.value.code) == (413, "image_too_large")


def test_a_chunked_body_over_the_cap_is_413(allow, settings):
    settings.IMAGE_FETCH_MAX_BYTES = 1000
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"200\r\n" + b"x" * 0x200 + b"\r\n"
    with raw_server(head, [chunk] * 50 + [b"0\r\n\r\n"]) as server:
        allow.append(f"127.0.0.1:{server.port}")

        with pytest.raises(ImageTooLarge):
            fetch_image(server.url())


def test_a_body_without_length_over_the_cap_is_413(allow, settings):
    settings.IMAGE_FETCH_MAX_BYTES = 1000
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n"
    with raw_server(head, [b"x" * 4096] * 4) as server:
        allow.append(f"127.0.0.1:{server.port}")

        with pytest.raises(ImageTooLarge):
            fetch_image(server.url())


def test_a_short_content_length_lie_reads_no_more_than_declared(allow, settings):
    settings.IMAGE_FETCH_MAX_BYTES = 1000
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n"
    with raw_server(head, [b"x" * 4096] * 4) as server:
        allow.append(f"127.0.0.1:{server.port}")

        fetched = fetch_image(server.url())

    assert fetched.content == b"x" * 10


def test_a_dripping_body_times_out_at_the_total_deadline(allow, settings):
    settings.IMAGE_FETCH_TOTAL_TIMEOUT_SECONDS = 1.0
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n"
    with raw_server(head, [b"x"] * 100, delay=0.2) as server:
        allow.append(f"127.0.0.1:{server.port}")
        started = time.monotonic()

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())

    assert time.monotonic() - started < 2.0


def test_dripping_headers_time_out_at_the_total_deadline(allow, settings):
    settings.IMAGE_FETCH_TOTAL_TIMEOUT_SECONDS = 1.0
    head = b"HTTP/1.1 200 OK\r\n"
    with raw_server(head, [b"X-Slow: y\r\n"] * 100, delay=0.2) as server:
        allow.append(f"127.0.0.1:{server.port}")
        started = time.monotonic()

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())

    assert time.monotonic() - started < 2.0


def test_a_server_that_never_answers_times_out_at_the_first_byte_deadline(allow, settings):
    settings.IMAGE_FETCH_FIRST_BYTE_TIMEOUT_SECONDS = 0.5
    with LoopbackServer(lambda server, _: server.stopping.wait(10)) as server:
        allow.append(f"127.0.0.1:{server.port}")
        started = time.monotonic()

        with pytest.raises(ImageFetchError):
            fetch_image(server.url())

    assert time.monotonic() - started < 1.5


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_failures_are_indistinguishable(allow):
    """Closed port, blocked address, unknown host and non-image look the same."""
    port = _closed_port()
    allow.append(f"127.0.0.1:{port}")
    envelopes = []
    with LoopbackServer(lambda _, h: reply(h, 200, {"Content-Type": "text/html"}, b"<h1>")) as web:
        allow.append(f"127.0.0.1:{web.port}")
        cases = [
            (f"http://127.0.0.1:{port}/a.png", ScriptedResolver()),
            ("http://10.0.0.1/a.png", ScriptedResolver()),
            ("http://nowhere.example/a.png", ScriptedResolver(socket.gaierror(-2, "Name unknown"))),
            ("http://empty.example/a.png", ScriptedResolver([])),
            (web.url(), ScriptedResolver()),
        ]
        for url, resolver in cases:
            with pytest.raises(ImageFetchError) as caught:
                fetch_image(url, resolve=resolver)
            envelopes.append(caught.value.envelope())

    assert all(envelope == envelopes[0] for envelope in envelopes)
    assert envelopes[0]["error"]["message"] == FETCH_ERROR_MESSAGE


def test_dns_rebinding_connects_to_the_validated_address_with_the_original_host(allow):
    """The second (private) answer is never asked for; the dial uses the first."""
    resolver = ScriptedResolver([PUBLIC_IP], ["127.0.0.1"])
    connector = RecordingConnector(to_loopback=True)
    with image_server(PNG) as server:
        fetched = fetch_image(
            f"http://img.example.test:{server.port}/cat.png", resolve=resolver, connect=connector
        )

    assert fetched.content == PNG
    assert connector.calls == [(PUBLIC_IP, server.port)]
    assert resolver.lookups == ["img.example.test"]
    assert server.hits[0].headers["host"] == f"img.example.test:{server.port}"


def _self_signed_context() -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "img.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_pem_files(cert, key))
    return context


def _pem_files(cert, key) -> tuple[str, str]:
    import tempfile

    directory = tempfile.mkdtemp()
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def test_https_sends_sni_for_the_original_name_and_verifies_the_certificate(allow):
    """The pinned dial still does TLS against the URL's name: SNI set, bad certificate refused."""
    context, seen_sni = _self_signed_context(), []
    context.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    connector = RecordingConnector(to_loopback=True)

    with pytest.raises(ImageFetchError):
        fetch_image(
            f"https://img.example.test:{port}/cat.png",
            resolve=ScriptedResolver([PUBLIC_IP]),
            connect=connector,
        )

    thread.join(5)
    listener.close()
    assert connector.calls == [(PUBLIC_IP, port)]
    assert seen_sni == ["img.example.test"]

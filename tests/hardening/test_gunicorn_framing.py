"""gunicorn's own answers and log lines, through the deployed config (config/gunicorn.py): a real
gunicorn gevent worker on loopback, raw sockets.

Malformed HTTP framing of the request line or headers never reaches Django: gunicorn answers it
itself. That answer is the JSON envelope, and neither its access log nor its error log prints a
key from the request line. A malformed chunked body is found while the app reads it: a 400
envelope too. The server runs with production settings (DEBUG=false).
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "opk_live_framingCanary0123456789abcdefgh"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    logs = tmp_path_factory.mktemp("gunicorn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60 + "framing-secret",
        "OPENPROVIDER_ENCRYPTION_KEY": "y" * 60 + "framing-encryption",
        "ALLOWED_HOSTS": "x,127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{logs / 'db.sqlite3'}",
        "REDIS_URL": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_WORKER_CONNECTIONS": "50",
        "GUNICORN_ACCESS_LOG": str(logs / "access.log"),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with (logs / "error.log").open("w") as errors:
        process = subprocess.Popen(
            # Without a control socket: another gunicorn (a dev server, a parallel run) may
            # own the default one.
            [
                gunicorn,
                "-c",
                "config/gunicorn.py",
                "--no-control-socket",
                "config.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        _wait_until_answering(port, process)
        yield port, logs
    finally:
        process.terminate()
        process.wait(30)


def _wait_until_answering(port: int, process: subprocess.Popen) -> None:
    """The worker is up once gunicorn answers a framing error (the master alone accepts)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if exchange(port, b"BAD\r\n\r\n"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail("gunicorn did not start")


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    return answer


def wait_for_text(path: Path, text: str, seconds: float = 10.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        f"GET /v1/models?key={KEY} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad\x01Name: 1\r\n\r\n",
    ],
    ids=["header-without-colon", "http-version", "header-name"],
)
def test_malformed_framing_is_answered_with_the_json_envelope(server, request_bytes):
    port, _ = server

    answer = exchange(port, request_bytes)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/json" in head
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "bad_request"
    assert error["message"].startswith("Bad Request")
    assert error["param"] is None
    assert KEY not in body.decode()


def test_a_malformed_chunked_body_is_a_400_envelope(server):
    port, _ = server
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n"
    )

    answer = exchange(port, request)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    payload = body[body.index(b"{") : body.rindex(b"}") + 1]  # possibly chunk-framed
    assert json.loads(payload)["error"]["code"] == "invalid_body"


def test_a_key_in_a_url_is_masked_in_the_access_log(server):
    port, logs = server
    marker = "/v1/access-log-check"
    request = f"GET {marker}?api_key={KEY}&x={KEY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    answer = exchange(port, request.encode())

    assert answer.startswith(b"HTTP/1.1 404 ")
    access = wait_for_text(logs / "access.log", marker)
    assert marker in access
    assert "[redacted]" in access
    assert KEY not in access


def test_a_key_in_a_refused_request_line_is_masked_in_the_error_log(server):
    port, logs = server
    request = f"GET /v1/models?key={KEY}\r\nHost: x\r\n\r\n"  # no HTTP version

    answer = exchange(port, request.encode())

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert KEY not in answer.decode()
    errors = wait_for_text(logs / "error.log", "Invalid request")
    assert "[redacted]" in errors
    assert KEY not in errors

"""Body caps through the deployed server: a real gunicorn on loopback, raw sockets.

gunicorn de-chunks a `Transfer-Encoding: chunked` body and passes no Content-Length; the
/v1 body cap must still hold (413 envelope) without the worker reading the whole body.
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


@pytest.fixture(scope="module")
def gunicorn_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DEBUG": "true"}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "sync",
            "--workers",
            "1",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait(10)


def raw_post(port: int, path: str, headers: dict[str, str], chunks: list[bytes]) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the whole body is sent
        received = b""
        while piece := sock.recv(65536):
            received += piece
    return received


def test_a_chunked_body_over_the_cap_is_a_413_envelope(gunicorn_port):
    chunks = [b"[" + b"1," * 32768] * 80  # about 5 MiB, over the 2 MiB cap

    answer = raw_post(
        gunicorn_port,
        "/v1/chat/completions",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunks,
    )

    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line
    payload = rest.partition(b"\r\n\r\n")[2]  # possibly chunk-framed: take the JSON object
    body = json.loads(payload[payload.index(b"{") : payload.rindex(b"}") + 1])
    assert body["error"]["code"] == "request_too_large"
    assert body["error"]["request_id"].startswith("gen-")


def test_a_declared_length_over_the_cap_is_refused_before_the_body_arrives(gunicorn_port):
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gunicorn_port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while piece := sock.recv(65536):  # the server answers at once and closes
            answer += piece

    assert b" 413 " in answer.partition(b"\r\n")[0]
    assert b"request_too_large" in answer

"""Slow request bodies against the deployed server: gunicorn's gevent worker, real sockets.

One tenant opens 40 requests, with keys not yet in the auth cache, whose bodies never finish
(shorter than their Content-Length). While they are held, another tenant's keys are answered at
once, and the slow ones hold no database connection (counted as the worker's open files on the
SQLite database: before the fix each held one, 42 files instead of 2). Past
CLIENT_MAX_PENDING_BODIES the address's further bodies are refused at once (429), whatever keys
they present; each held one gets 408 `request_timeout` at the body deadline. A client that never
finishes its headers is dropped by gunicorn's own timeout.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BODY_TIMEOUT_SECONDS = 4
SLOW_REQUESTS = 40
PENDING_BODIES_PER_ADDRESS = 30  # so 10 of the 40 slow bodies are refused at once


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(condition, seconds: float, message: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn (gevent, one worker) on a SQLite file; two tenants with SLOW_REQUESTS keys each.

    Yields (port, {"slow": [...], "calm": [...]}, the worker's pid, the database path).
    """
    database = tmp_path_factory.mktemp("slow-bodies") / "server.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
        "REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS),
        "CLIENT_MAX_PENDING_BODIES": str(PENDING_BODIES_PER_ADDRESS),
        "REQUEST_LOG_WRITE_BEHIND": "false",
    }

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        ).stdout

    manage("migrate", "--noinput", "-v", "0")
    created = manage(
        "shell",
        "-c",
        "from accounts.models import User\n"
        "from accounts.services import api_key_create\n"
        "for who in ('slow', 'calm'):\n"
        "    user = User.objects.create_user(f'{who}@example.com', password='bodies password 1')\n"
        f"    for _ in range({SLOW_REQUESTS}):\n"
        "        print('KEY', who, api_key_create(workspace=user.workspace, name=who).plaintext)\n",
    )
    keys: dict[str, list[str]] = {"slow": [], "calm": []}
    for line in created.splitlines():
        if line.startswith("KEY "):
            _, who, plaintext = line.split()
            keys[who].append(plaintext)
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "-c",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env={**env, "GUNICORN_WORKER_CLASS": "gevent"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until(lambda: _answers(port), 60, "gunicorn did not start")
        worker = _wait_until(lambda: _children(process.pid), 20, "no gunicorn worker")[0]
        yield port, keys, worker, database
    finally:
        process.terminate()
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _open_database_files(pid: int, database: Path) -> int:
    """How many file descriptors of `pid` point at the SQLite database file itself."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd) == str(database)
        except OSError:
            continue
    return count


def _request(port: int, key: str, method: str = "GET", path: str = "/v1/key") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: Bearer {key}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    received = b""
    while piece := sock.recv(65536):
        received += piece
    return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _error_code(answer: bytes) -> str:
    payload = answer.partition(b"\r\n\r\n")[2]
    return json.loads(payload[payload.index(b"{") : payload.rindex(b"}") + 1])["error"]["code"]


def _start_slow_body(port: int, key: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT_SECONDS + 10)
    sock.sendall(
        (
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            "Content-Length: 4096\r\n\r\n"
            '{"model": "openprovider/auto-free", "messages": ['
        ).encode()
    )
    return sock


def test_slow_bodies_hold_no_database_connection_and_other_keys_are_served(server):
    port, keys, worker, database = server
    assert _status(_request(port, keys["calm"][0])) == 200
    files_before = _open_database_files(worker, database)
    # The slow keys are not in the auth cache: a lookup before the body would hold a connection.
    slow = [_start_slow_body(port, key) for key in keys["slow"]]
    try:
        began = time.monotonic()
        calm = [_request(port, key) for key in keys["calm"][:10]]
        calm_seconds = time.monotonic() - began
        held_files = _open_database_files(worker, database)

        assert [_status(answer) for answer in calm] == [200] * 10
        assert calm_seconds < BODY_TIMEOUT_SECONDS  # served while every slow body is held
        assert held_files == files_before  # no slow request holds a database connection

        answers = [_read_all(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()

    codes = Counter((_status(answer), _error_code(answer)) for answer in answers)
    assert codes == {
        (408, "request_timeout"): PENDING_BODIES_PER_ADDRESS,
        (429, "too_many_concurrent_requests"): SLOW_REQUESTS - PENDING_BODIES_PER_ADDRESS,
    }
    assert time.monotonic() - began < BODY_TIMEOUT_SECONDS + 10
    assert _status(_request(port, keys["slow"][0])) == 200  # a valid key; its slot given back


def test_a_client_that_never_finishes_its_headers_is_dropped(server):
    port, _, _, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        began = time.monotonic()
        rest = _read_all(sock)  # gunicorn closes after `keepalive` (5 s) without the headers

    assert rest == b""
    assert time.monotonic() - began < 15

"""Two instances on one host each get their own gunicorn control socket, under their VAR_DIR."""

import importlib.util
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "gunicorn.py"


def load_config(monkeypatch, var_dir: Path):
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    spec = importlib.util.spec_from_file_location("gunicorn_conf_control_socket", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_control_socket_lives_in_the_projects_var_dir(monkeypatch, tmp_path):
    assert load_config(monkeypatch, tmp_path).control_socket == str(tmp_path / "gunicorn.ctl")


def test_a_var_dir_too_deep_for_a_socket_gets_its_own_short_path(monkeypatch, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    other = tmp_path / ("d" * 60) / ("f" * 60)

    first = load_config(monkeypatch, deep).control_socket
    second = load_config(monkeypatch, other).control_socket

    assert len(first) <= 100
    assert first != second


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _is_socket(path: Path) -> bool:
    return path.exists() and stat.S_ISSOCK(path.stat().st_mode)


def _wait_for(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(message)


def _start(var_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
        "GUNICORN_WORKER_CLASS": "sync",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        "-c",
        "config/gunicorn.py",
        "--bind",
        f"127.0.0.1:{_free_port()}",
        "--workers",
        "1",
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_two_instances_keep_their_own_control_sockets(tmp_path):
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    first = _start(first_dir)
    try:
        _wait_for(lambda: _is_socket(first_dir / "gunicorn.ctl"), 60, "no control socket")
        second = _start(second_dir)
        try:
            _wait_for(lambda: _is_socket(second_dir / "gunicorn.ctl"), 60, "no second socket")
            assert _is_socket(first_dir / "gunicorn.ctl")  # not taken over by the second
        finally:
            _stop(second)
        assert _is_socket(first_dir / "gunicorn.ctl")  # nor removed when the second stops
    finally:
        _stop(first)

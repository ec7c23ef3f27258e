"""Run the Procfile's processes for real (web, worker, beat, store) and drive them over HTTP.

Each process starts from its Procfile command line, in its own process group, with its output in
a log file; `Stack.stop()` ends every group it started (SIGTERM, then SIGKILL after a deadline).
Waits are conditions polled against a deadline, never fixed sleeps.
"""

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
STARTUP_SECONDS = 90
PASSWORD = "correct horse battery staple"
# Set by pytest or by the developer's shell: the processes get exactly what the test gives them.
INHERITED_SETTINGS = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_KEY_PREFIX",
    "VAR_DIR",
    "PORT",
)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], T], *, seconds: float, what: str, every: float = 0.05) -> T:
    """The first truthy value of `condition()` before the deadline, else AssertionError."""
    deadline = time.monotonic() + seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (requests.RequestException, ValueError, KeyError) as error:
            value, last_error = None, error
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s: {what} (last error: {last_error!r})")


def base_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(ROOT),
        PATH=f"{bin_dir}:{env.get('PATH', '')}",
        HOST="127.0.0.1",
        LOG_LEVEL="INFO",
        # Several gunicorns on one machine: the per-user control socket would be shared.
        GUNICORN_CMD_ARGS="--no-control-socket",
    )
    env.update(values)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


@dataclass
class Stack:
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, line: str, env: dict[str, str]) -> None:
        """Start the Procfile's `line` process as `name` (e.g. web-a from the web line)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                shlex.split(procfile()[line]),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: gunicorn and celery children included
            )

    def stop(self, seconds: float = 20) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + seconds
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(10)
            _signal_group(process, signal.SIGKILL)  # any child left behind in its group

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"processes exited: {dead}\n{self.tails()}"

    def tails(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


class WebUser:
    """A person using one web node through its pages (session cookie and CSRF token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def at(self, base: str) -> "WebUser":
        """The same signed-in person on another node (sessions live in the database)."""
        other = WebUser(base)
        other.session.cookies.update(self.session.cookies)
        return other

    def _post(self, path: str, data: dict[str, str]) -> requests.Response:
        if "csrftoken" not in self.session.cookies:
            self.session.get(self.base + "/account/signin/", timeout=30)  # sets the cookie
        response = self.session.post(
            self.base + path,
            data={**data, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
            headers={"Referer": self.base + path},
            timeout=30,
        )
        assert response.status_code < 400, (path, response.status_code, response.text[-500:])
        return response

    def sign_up(self, email: str, password: str = PASSWORD) -> None:
        self._post(
            "/account/signup/", {"email": email, "password1": password, "password2": password}
        )

    def create_key(self, name: str) -> tuple[int, str]:
        """A new API key: its id (from its revoke form) and plaintext (shown once)."""
        page = self._post("/account/keys/", {"name": name}).text
        plaintext = re.search(r"opk_live_[A-Za-z0-9_-]+", page).group(0)
        rows = re.findall(r"<td data-label=\"Name\">([^<]*)</td>(.*?)</tr>", page, re.S)
        key_id = next(
            int(re.search(r"/account/keys/(\d+)/revoke/", rest).group(1))
            for key_name, rest in rows
            if key_name == name
        )
        return key_id, plaintext

    def revoke_key(self, key_id: int) -> None:
        self._post(f"/account/keys/{key_id}/revoke/", {})

    def delete_provider(self, name: str) -> None:
        page = self.session.get(self.base + "/account/providers/", timeout=30).text
        found = re.search(
            rf'action="/account/credentials/(\d+)/delete"[^>]*data-confirm="Delete the key {name} ',
            page,
        )
        assert found, f"no delete form for {name}"
        self._post(f"/account/credentials/{found.group(1)}/delete", {})

    def add_custom_provider(self, name: str, base_url: str) -> None:
        self._post(
            "/account/providers/custom/save",
            {"form_key": "custom", "name": name, "api_key": "fake-key", "base_url": base_url},
        )


class Api:
    """One node's /v1 API with one key."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def get(self, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return requests.get(self.base + path, headers=headers, timeout=30)

    def model_ids(self) -> set[str]:
        response = self.get("/v1/models")
        assert response.status_code == 200, response.text
        return {entry["id"] for entry in response.json()["data"]}

    def chat(self, model: str) -> requests.Response:
        return requests.post(
            self.base + "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=60,
        )

    def synced(self, provider: str) -> bool:
        """True once the provider's catalog sync has finished with models."""
        for entry in self.get("/v1/providers/status").json()["data"]:
            if entry["name"] == provider and entry["last_sync_at"] and entry["models"]["total"]:
                return True
        return False


def healthy(base: str) -> bool:
    response = requests.get(base + "/healthz", timeout=5)
    return response.status_code == 200 and response.json()["status"] == "ok"


def seconds_until_listed(api: Api, provider: str, model: str, *, seconds: float) -> float:
    """How long after its sync finished `model` was first listed (negative: listed earlier)."""
    synced_at = listed_at = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (synced_at is None or listed_at is None):
        if listed_at is None and model in api.model_ids():
            listed_at = time.monotonic()
        if synced_at is None and api.synced(provider):
            synced_at = time.monotonic()
        time.sleep(0.02)
    assert synced_at is not None, f"the sync of {provider} did not finish within {seconds} s"
    assert listed_at is not None, f"{model} was not listed within {seconds} s"
    return listed_at - synced_at

"""Catalog fixtures: credentials of the groq and custom rows, and a stub adapter."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from providers.models import ProviderCredential
from tests.catalog.factories import GROQ_KEY, StubAdapter, make_credential


@pytest.fixture
def groq_credential(workspace) -> ProviderCredential:
    return make_credential(workspace, "groq", api_key=GROQ_KEY, key_hint="cdef")


@pytest.fixture
def custom_credential(workspace) -> ProviderCredential:
    return make_credential(workspace, "custom", name="homelab")


@pytest.fixture
def stubs(monkeypatch) -> dict[str, StubAdapter]:
    """catalog.services talks to these (one per credential name) instead of real adapters."""
    by_name: dict[str, StubAdapter] = {}
    monkeypatch.setattr(
        "catalog.services.adapter_for", lambda c: by_name.setdefault(c.name, StubAdapter())
    )
    return by_name


@pytest.fixture
def stub_adapter(stubs, custom_credential) -> StubAdapter:
    """The stub behind the `homelab` custom credential."""
    return stubs.setdefault(custom_credential.name, StubAdapter())


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are created per test; the production hasher costs ~0.5 s each on a busy runner."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def redis_url():
    """A real Redis: REDIS_URL in CI, else a throwaway redis-server on loopback."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs REDIS_URL or a redis-server binary")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/15"
    finally:
        server.terminate()
        server.wait(5)

"""Overlapping runs: the second one exits "locked"; only the owner releases a lock."""

import os
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import cache
from django.test.utils import override_settings

from catalog.locks import held_lock, lock_acquire, lock_release
from catalog.services import catalog_sync_all, catalog_sync_credential
from catalog.tasks import catalog_sync_all_task, catalog_sync_credential_task
from tests.catalog.factories import make_credential


def test_a_lock_is_held_until_its_owner_releases_it():
    token = lock_acquire("job", timeout=60)

    assert token is not None
    assert lock_acquire("job", timeout=60) is None
    assert lock_release("job", "not-the-owner") is False
    assert lock_acquire("job", timeout=60) is None
    assert lock_release("job", token) is True
    assert lock_acquire("job", timeout=60) is not None


def _work_that_hits_its_time_limit() -> None:
    with held_lock("job", timeout=60):
        raise RuntimeError("soft time limit")


def test_held_lock_releases_even_when_the_body_raises():
    with pytest.raises(RuntimeError):
        _work_that_hits_its_time_limit()

    assert lock_acquire("job", timeout=60) is not None


def test_a_second_concurrent_sync_all_exits_locked(stub_adapter, custom_credential):
    token = lock_acquire("catalog-sync:all:*:*", timeout=60)

    assert catalog_sync_all() is None
    assert catalog_sync_all_task() == "locked"
    assert stub_adapter.calls == 0
    lock_release("catalog-sync:all:*:*", token)
    assert catalog_sync_all_task() == "synced 1 workspaces"


def test_a_second_concurrent_credential_sync_exits_locked(stub_adapter, custom_credential):
    lock_acquire(f"catalog-sync:credential:{custom_credential.pk}", timeout=60)

    assert catalog_sync_credential(credential=custom_credential) is None
    assert catalog_sync_credential_task(custom_credential.pk) == "locked"
    assert stub_adapter.calls == 0


def test_sync_all_skips_a_credential_that_is_already_syncing(workspace, stubs):
    busy = make_credential(workspace, name="busy")
    idle = make_credential(workspace, name="idle")
    lock_acquire(f"catalog-sync:credential:{busy.pk}", timeout=60)

    (run,) = catalog_sync_all()

    assert run.results["busy"]["skipped"] is True
    assert run.results["busy"]["error"] == ""
    assert run.results["idle"]["skipped"] is False
    assert "busy" not in stubs
    assert stubs[idle.name].calls == 1


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


@pytest.mark.redis
def test_on_redis_release_is_an_atomic_compare_and_delete(redis_url):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "locktest",
        }
    }
    with override_settings(CACHES=caches):
        cache.delete("lock:job")
        token = lock_acquire("job", timeout=60)

        assert token is not None
        assert lock_acquire("job", timeout=60) is None
        assert lock_release("job", "someone-else") is False
        assert cache.get("lock:job") == token
        assert lock_release("job", token) is True
        assert cache.get("lock:job") is None

"""Overlapping runs: the second one exits "locked"; only the owner releases a lock."""

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


def test_the_same_task_takes_back_its_own_lock_and_no_one_else_does():
    """A task redelivered after its worker died owns the lock that worker left behind."""
    assert lock_acquire("job", timeout=60, owner="task-1") == "task-1"

    assert lock_acquire("job", timeout=60) is None
    assert lock_acquire("job", timeout=60, owner="task-2") is None
    assert lock_acquire("job", timeout=60, owner="task-1") == "task-1"
    assert lock_release("job", "task-2") is False
    assert lock_release("job", "task-1") is True


def test_a_redelivered_sync_task_runs_despite_the_lock_its_dead_worker_left(
    stub_adapter, custom_credential
):
    lock = f"catalog-sync:credential:{custom_credential.pk}"
    lock_acquire(lock, timeout=600, owner="task-killed-mid-sync")

    other = catalog_sync_credential_task.apply(args=[custom_credential.pk], task_id="another")
    rerun = catalog_sync_credential_task.apply(
        args=[custom_credential.pk], task_id="task-killed-mid-sync"
    )

    assert other.get() == "locked"
    assert rerun.get() == "ok"
    assert stub_adapter.calls == 1
    assert lock_acquire(lock, timeout=60) is not None  # released by its owner afterwards


def test_a_soft_time_limit_fails_the_run_keeps_the_catalog_and_frees_the_locks(
    stub_adapter, custom_credential
):
    """The soft limit raises inside the sync; cleanup runs before the hard limit."""
    from celery.exceptions import SoftTimeLimitExceeded

    from catalog.models import CatalogModel, SyncRun
    from tests.catalog.factories import seed_model

    seed_model(custom_credential, "kept")
    stub_adapter.error = SoftTimeLimitExceeded()

    with pytest.raises(SoftTimeLimitExceeded):
        catalog_sync_all()

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert run.finished_at is not None
    assert list(CatalogModel.objects.values_list("upstream_id", "is_active")) == [("kept", True)]
    assert lock_acquire("catalog-sync:all:*:*", timeout=60) is not None
    assert lock_acquire(f"catalog-sync:credential:{custom_credential.pk}", timeout=60) is not None


@pytest.mark.redis
def test_on_redis_exactly_one_of_many_concurrent_acquirers_gets_the_lock(redis_url):
    """Two workers or two beat instances starting at once; SET NX decides."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "locktest-race",
        }
    }
    with override_settings(CACHES=caches):
        cache.delete("lock:race")
        start = Barrier(16)

        def contend(i: int) -> str | None:
            start.wait()
            return lock_acquire("race", timeout=60, owner=f"task-{i}")

        with ThreadPoolExecutor(16) as pool:
            tokens = [t for t in pool.map(contend, range(16)) if t]

        assert len(tokens) == 1
        assert cache.get("lock:race") == tokens[0]
        assert lock_release("race", tokens[0]) is True


def test_a_run_left_running_by_a_killed_worker_is_failed_by_the_next_sync(
    stub_adapter, custom_credential
):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import SyncRun
    from catalog.services import SYNC_ALL_LOCK_SECONDS

    dead = SyncRun.objects.create(workspace=custom_credential.workspace, trigger="beat")
    recent = SyncRun.objects.create(workspace=custom_credential.workspace, trigger="beat")
    SyncRun.objects.filter(pk=dead.pk).update(
        started_at=timezone.now() - timedelta(seconds=SYNC_ALL_LOCK_SECONDS + 60)
    )

    catalog_sync_all()

    dead.refresh_from_db()
    recent.refresh_from_db()
    assert (dead.status, dead.finished_at is not None) == (SyncRun.Status.FAILED, True)
    assert recent.status == SyncRun.Status.RUNNING  # may still be alive: younger than any limit

"""A cache lock so the same job never runs twice at once (across workers and beat instances).

Taken with ``cache.add`` (Redis ``SET NX`` with an expiry) holding a random owner token; the
expiry must exceed the job's time limit so a crashed worker never blocks the next run for long.
Release is compare-and-delete: on Redis one Lua script, so only the owner ever deletes it. On
other cache backends (local memory in development) it is get-then-delete, which has a small race:
if the lock expires between the get and the delete, a newer owner's lock could be removed. The
expiry is far longer than any run, so that window is practically never open.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache

_RELEASE_SCRIPT = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


def lock_acquire(name: str, *, timeout: int, owner: str | None = None) -> str | None:
    """The owner token if the lock was free, else None.

    `owner` (a Celery task id) lets a redelivery of the same task take back the lock its killed
    predecessor held: with acks_late, a worker killed mid-job leaves both the unacked message and
    the lock behind, and without this the rerun would find its own lock and exit "locked" until
    the expiry. Any other owner still waits.
    """
    token = owner or secrets.token_hex(16)
    key = f"lock:{name}"
    if cache.add(key, token, timeout):
        return token
    if owner and cache.get(key) == owner:
        cache.touch(key, timeout)
        return token
    return None


def lock_release(name: str, token: str) -> bool:
    """Delete the lock only if `token` still owns it."""
    key = f"lock:{name}"
    redis_client = _redis_client(key)
    if redis_client is not None:
        full_key = cache.make_and_validate_key(key)
        stored = cache._cache._serializer.dumps(token)  # type: ignore[attr-defined]
        return bool(redis_client.eval(_RELEASE_SCRIPT, 1, full_key, stored))
    if cache.get(key) != token:
        return False
    cache.delete(key)
    return True


def _redis_client(key: str) -> Any:
    backend = getattr(cache, "_cache", None)
    if backend is None or not hasattr(backend, "get_client"):
        return None
    return backend.get_client(key, write=True)


@contextmanager
def held_lock(name: str, *, timeout: int, owner: str | None = None) -> Iterator[bool]:
    """Yields True while holding the lock, False when another owner holds it."""
    token = lock_acquire(name, timeout=timeout, owner=owner)
    try:
        yield token is not None
    finally:
        if token is not None:
            lock_release(name, token)

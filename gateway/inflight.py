"""A bound on concurrent in-flight /v1 requests per API key, and per client address without one.

Counted in the shared cache, so every worker and node sees the same count; a request takes a
slot before its body is read and gives it back when its response is closed (the WSGI server
closes every response: finished, failed or aborted streams alike). A slot also expires on its
own after slot_seconds(), so a worker killed mid-request leaks nothing for long.

On Redis a slot is a member of one sorted set per subject, scored by its expiry: a Lua script
drops expired members, counts and adds in one round trip; giving it back is one ZREM. Other
caches use the Django cache API: one counter per subject (`add` + `incr`, `decr` to give back)
that expires slot_seconds() after it was created, which also ends any leak (the bound is then
loose for a moment, never stuck). When the cache is unreachable requests are let through (the
rate limiter on the workflow routes fails closed on its own).
"""

import logging
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from accounts.clients import client_address
from accounts.services import API_KEY_PATTERN, api_key_hash
from gateway.api.errors import ApiError
from gateway.routing.ratelimit import counter_decrement, counter_increment

logger = logging.getLogger(__name__)

# KEYS[1]: the subject's set; ARGV: now, this slot's expiry, its id, the limit, the set's TTL.
TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def slot_seconds() -> int:
    """How long a slot may live: the longest a request can take, with a margin."""
    return int(
        settings.REQUEST_BODY_TIMEOUT_SECONDS
        + settings.GATEWAY_TOTAL_DEADLINE_SECONDS
        + settings.PROVIDER_STREAM_MAX_SECONDS
        + 60
    )


def inflight_acquire_for(meta: dict) -> Callable[[], None]:
    """Take a slot for the presented well-formed key (by its hash: nothing is looked up), else
    for the client address; see inflight_acquire."""
    scheme, _, token = str(meta.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme == "Bearer" and API_KEY_PATTERN.fullmatch(token):
        limit = settings.API_KEY_MAX_CONCURRENT_REQUESTS
        return inflight_acquire("key:" + api_key_hash(token), limit, per="API key")
    limit = settings.CLIENT_MAX_CONCURRENT_REQUESTS
    return inflight_acquire("addr:" + client_address(meta), limit, per="client address")


def inflight_acquire(subject: str, limit: int, *, per: str) -> Callable[[], None]:
    """Take a slot for `subject`; return the callable that gives it back (idempotent).

    Raises ApiError 429 `too_many_concurrent_requests` when `limit` requests are in flight.
    `per` names the subject in the message ("API key" or "client address").
    """
    if limit <= 0:
        return _nothing
    try:
        if isinstance(caches["default"], RedisCache):
            release = _take_on_redis(subject, limit)
        else:
            release = _take_in_cache(subject, limit)
    except Exception:
        logger.warning("in-flight limiter unavailable (cache error); request let through")
        return _nothing
    if release is None:
        raise ApiError(
            f"Too many concurrent requests for this {per} (the limit is {limit}); "
            "wait for one to finish.",
            status=429,
            code="too_many_concurrent_requests",
            headers={"Retry-After": "1"},
        )
    return _once(release)


def _nothing() -> None:
    return None


def _once(release: Callable[[], None]) -> Callable[[], None]:
    done: list[bool] = []

    def give_back() -> None:
        if done:
            return
        done.append(True)
        try:
            release()
        except Exception:
            logger.warning("in-flight slot not given back (cache error); it expires on its own")

    return give_back


def _take_on_redis(subject: str, limit: int) -> Callable[[], None] | None:
    backend, slot = caches["default"], secrets.token_hex(8)
    key = backend.make_and_validate_key(f"inflight:{subject}")
    client = backend._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # RedisCache
    now, seconds = time.time(), slot_seconds()
    if not client.eval(TAKE_SLOT, 1, key, now, now + seconds, slot, limit, seconds):
        return None
    return lambda: client.zrem(key, slot)


def _take_in_cache(subject: str, limit: int) -> Callable[[], None] | None:
    key = f"inflight:{subject}"
    if counter_increment(key, slot_seconds()) > limit:
        counter_decrement(key)
        return None
    return lambda: counter_decrement(key)

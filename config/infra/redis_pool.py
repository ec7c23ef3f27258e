"""One bounded Redis connection pool, and one client, per process for Django's Redis cache.

Django keeps a cache backend per thread, and under the gevent worker every greenlet counts as a
thread: each request built its own pool and opened (and kept) its own Redis connection, ~1,000
idle connections per worker after a burst of 1,000 streams (bench/README.md, "Gateway"). Every
backend instance now gets the same pool; greenlets wait for a free connection instead of opening
more.
"""

import os
import threading
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class SharedBlockingConnectionPool(redis.BlockingConnectionPool):
    """`from_url` returns the same pool for the same URL and options within a process."""

    _shared: dict[tuple[Any, ...], "SharedBlockingConnectionPool"] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "SharedBlockingConnectionPool":
        key = (os.getpid(), url, tuple(sorted((name, repr(v)) for name, v in kwargs.items())))
        with cls._shared_lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = super().from_url(url, **kwargs)
                cls._shared[key] = pool
        return pool


class SharedRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, handing out one `redis.Redis` per pool instead of one per call.

    Django builds a `redis.Redis` for every cache operation; its constructor fills a
    case-insensitive table of ~200 response callbacks, which made up most of the gateway's Redis
    cost (six operations per request; bench/README.md, "What changed in this round"). A
    `redis.Redis` holds no connection of its own (the pool does) and is safe to share between
    threads and greenlets.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # Django private
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(
                id(pool),
                self._client(connection_pool=pool),  # type: ignore[attr-defined]  # Django private
            )
        return client


class SharedRedisCache(RedisCache):
    """Django's Redis cache; every backend instance of a process shares one client.

    Django keeps one backend per thread (per greenlet under gevent, so per request), and each
    built its own client; now the first one built for a LOCATION and OPTIONS serves them all.
    """

    _shared: dict[tuple[Any, ...], SharedRedisCacheClient] = {}
    _shared_lock = threading.Lock()

    @cached_property
    def _cache(self) -> SharedRedisCacheClient:
        # _servers and _options: RedisCache's own parsed settings, absent from the stubs
        servers: list[str] = self._servers  # type: ignore[attr-defined]
        options: dict[str, Any] = self._options  # type: ignore[attr-defined]
        key = (os.getpid(), tuple(servers), tuple(sorted((n, repr(v)) for n, v in options.items())))
        with self._shared_lock:
            client = self._shared.get(key)
            if client is None:
                client = SharedRedisCacheClient(servers, **options)
                self._shared[key] = client
        return client

    def get_many_unchecked(self, keys: list[str]) -> dict[str, Any]:
        """get_many without Django's per-key validation (most of the cost of reading thousands
        of keys the caller built itself): one MGET."""
        full: dict[Any, str] = {self.make_key(key): key for key in keys}
        return {full[key]: value for key, value in self._cache.get_many(list(full)).items()}


def cache_get_many(cache: Any, keys: list[str]) -> dict[str, Any]:
    """`cache.get_many(keys)`, without per-key validation on the shared Redis cache."""
    if isinstance(cache, SharedRedisCache):
        return cache.get_many_unchecked(keys)
    return dict(cache.get_many(keys))

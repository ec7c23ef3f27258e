"""One bounded Redis connection pool per process for Django's Redis cache.

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


class SharedBlockingConnectionPool(redis.BlockingConnectionPool):
    """`from_url` returns the same pool for the same URL and options within a process."""

    _shared: dict[tuple[Any, ...], "SharedBlockingConnectionPool"] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "SharedBlockingConnectionPool":
        key = (os.getpid(), url, tuple(sorted((name, repr(v)) for name, v in kwargs.items())))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = super().from_url(url, **kwargs)
                cls._shared[key] = pool
        return pool

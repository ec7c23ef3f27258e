"""The Redis cache shares one bounded pool per process, whatever thread or greenlet asks."""

import threading

from django.core.cache.backends.redis import RedisCache

from config.redis_pool import SharedBlockingConnectionPool

URL = "redis://127.0.0.1:6399/3"
OPTIONS = {
    "pool_class": "config.redis_pool.SharedBlockingConnectionPool",
    "max_connections": 8,
    "timeout": 1,
}


def _pool_of_a_new_backend() -> SharedBlockingConnectionPool:
    backend = RedisCache(URL, {"OPTIONS": OPTIONS})
    return backend._cache._get_connection_pool(write=True)


def test_backends_in_different_threads_share_one_pool():
    # given a backend built in another thread (Django builds one per thread / greenlet)
    pools = []
    worker = threading.Thread(target=lambda: pools.append(_pool_of_a_new_backend()))
    worker.start()
    worker.join()

    # when this thread builds its own backend
    mine = _pool_of_a_new_backend()

    # then both use the same bounded pool
    assert pools[0] is mine
    assert isinstance(mine, SharedBlockingConnectionPool)
    assert mine.max_connections == 8


def test_other_options_get_another_pool():
    first = SharedBlockingConnectionPool.from_url(URL, max_connections=8, timeout=1)
    other = SharedBlockingConnectionPool.from_url(URL, max_connections=9, timeout=1)

    assert first is not other
    assert SharedBlockingConnectionPool.from_url(URL, max_connections=8, timeout=1) is first

"""The Redis cache shares one bounded pool and one client per process, whatever thread or
greenlet asks."""

import threading

from django.core.cache.backends.redis import RedisCache

from config.infra.redis_pool import SharedBlockingConnectionPool, SharedRedisCache

URL = "redis://127.0.0.1:6399/3"
OPTIONS = {
    "pool_class": "config.infra.redis_pool.SharedBlockingConnectionPool",
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


def test_backends_in_different_threads_share_one_client_and_one_redis_object():
    # given a shared-cache backend built in another thread
    built = []

    def build() -> None:
        backend = SharedRedisCache(URL, {"OPTIONS": OPTIONS})
        built.append((backend._cache, backend._cache.get_client(write=True)))

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()

    # when this thread builds its own and asks for clients twice
    mine = SharedRedisCache(URL, {"OPTIONS": OPTIONS})
    first, second = mine._cache.get_client(write=True), mine._cache.get_client("k")

    # then no redis.Redis is built per call or per backend, and the pool is the shared one
    assert mine._cache is built[0][0]
    assert first is second is built[0][1]
    assert first.connection_pool is _pool_of_a_new_backend()


def test_other_cache_options_get_another_client():
    other = SharedRedisCache(URL, {"OPTIONS": {**OPTIONS, "max_connections": 9}})

    assert other._cache is not SharedRedisCache(URL, {"OPTIONS": OPTIONS})._cache
    assert other._cache.get_client().connection_pool.max_connections == 9

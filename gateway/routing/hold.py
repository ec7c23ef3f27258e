"""Hold a request briefly instead of refusing it when every route frees up within seconds.

When every fitting route is cooling or spent and the earliest frees up within
GATEWAY_MAX_QUEUE_SECONDS of the request's start, the request waits for it and plans again (no
database connection is held while it waits). At most GATEWAY_MAX_QUEUED_REQUESTS wait at once
in a process; past either bound it is refused at once with the 429 `rate_limited_upstream`.
"""

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from config.infra.dbconnections import release_db_connections
from gateway.routing.candidates import RoutesCooling

T = TypeVar("T")

_lock = threading.Lock()
_waiting = 0
# Tests replace both: nothing waits for real there.
_sleep = time.sleep
_clock = time.monotonic


def _enter() -> bool:
    global _waiting
    with _lock:
        if _waiting >= settings.GATEWAY_MAX_QUEUED_REQUESTS:
            return False
        _waiting += 1
        return True


def _leave() -> None:
    global _waiting
    with _lock:
        _waiting -= 1


def held(
    plan: Callable[[], T],
    *,
    started: float,
) -> tuple[T, float]:
    """`plan()`'s result and the seconds waited for it; RoutesCooling when it cannot wait."""
    deadline = started + settings.GATEWAY_MAX_QUEUE_SECONDS
    waited = 0.0
    while True:
        try:
            return plan(), waited
        except RoutesCooling as cooling:
            cooling.waited = waited
            wait = max(cooling.wait_seconds, 0.05)
            if _clock() + wait > deadline or not _enter():
                raise
            release_db_connections()
            try:
                _sleep(wait)
            finally:
                _leave()
            waited += wait

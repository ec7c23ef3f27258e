"""Who is calling: the client address, and the per-address limit on authentication failures.

A flood of made-up keys costs no database query once the negative cache holds them, but each
new one still costs a lookup: past AUTH_FAILURES_PER_MINUTE failures in the current minute an
address gets 429 `too_many_auth_failures` instead, before any query. The count is a fixed
window in the shared cache (`add` + `incr`), so every node sees it.
"""

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class AuthFailuresExceeded(Exception):
    """Too many failed authentications from one address in this window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many authentication failures")
        self.retry_after = retry_after


def client_address(meta: Mapping[str, Any]) -> str:
    """The caller's address: the peer, or the entry TRUSTED_PROXY_COUNT proxies back.

    Behind N reverse proxies that each append to X-Forwarded-For, the Nth entry from the right
    is the one the outermost trusted proxy saw; entries left of it are the client's to forge.
    """
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return str(meta.get("REMOTE_ADDR") or "unknown")[:64]


def _window(now: float) -> tuple[int, int]:
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    return start, max(math.ceil(start + WINDOW_SECONDS - now), 1)


def _counter(address: str, start: int) -> str:
    return f"authfail:{address}:{start}"


def auth_failures_check(address: str | None) -> None:
    """Raise AuthFailuresExceeded when `address` is over its limit (before a DB lookup)."""
    limit = settings.AUTH_FAILURES_PER_MINUTE
    if address is None or limit <= 0:
        return
    start, reset = _window(time.time())
    try:
        failures = cache.get(_counter(address, start)) or 0
    except Exception:
        return  # the database lookup still answers; the rate limiter fails closed later
    if failures >= limit:
        raise AuthFailuresExceeded(reset)


def auth_failure_record(address: str | None) -> None:
    """Count one failure; raise AuthFailuresExceeded when it is over the limit."""
    limit = settings.AUTH_FAILURES_PER_MINUTE
    if address is None or limit <= 0:
        return
    start, reset = _window(time.time())
    key = _counter(address, start)
    try:
        cache.add(key, 0, WINDOW_SECONDS + 5)
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr: this failure opens the next window
        return
    except Exception:
        logger.warning("auth cache unavailable; authentication failure not counted")
        return
    if failures > limit:
        raise AuthFailuresExceeded(reset)

"""Per-key request limits: fixed per-minute and per-day windows counted atomically in the cache.

`cache.add` creates a window's counter and `cache.incr` counts (atomic on Redis and locmem), so
parallel requests on any number of nodes let exactly `limit` through per window. Every request
that reaches the limiter counts, rejected ones included; failed upstream attempts do not count
extra (one request = one unit, whatever its fallbacks).

When the cache (Redis) is unreachable the limiter fails closed: 503 `rate_limiter_unavailable`,
bounded by the cache's 1 s socket timeouts, instead of letting unlimited traffic through.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import ApiKey

from .errors import ApiError

logger = logging.getLogger(__name__)

MINUTE, DAY = 60, 86400


@dataclass(frozen=True)
class RateLimit:
    """The state of the tightest window after counting this request."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    window: int = MINUTE

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }


def rate_limit_check(*, subject: str, per_minute: int, per_day: int) -> RateLimit:
    """Count one request for `subject`; raise ApiError 429 when a window is full, 503 on outage."""
    now = time.time()
    try:
        minute = _count(subject, MINUTE, per_minute, now)
        day = _count(subject, DAY, per_day, now) if minute.allowed else None
    except Exception:
        logger.warning("rate limiter unavailable (cache error)")
        raise ApiError(
            "The rate limiter is unavailable; try again shortly.",
            status=503,
            code="rate_limiter_unavailable",
            headers={"Retry-After": "1"},
        ) from None
    decision = _tightest(minute, day)
    if not decision.allowed:
        raise _limited(decision)
    return decision


def rate_limit_api_key(api_key: ApiKey) -> RateLimit:
    """The limits of an OpenProvider key (its own or the defaults)."""
    return rate_limit_check(
        subject=f"key:{api_key.pk}",
        per_minute=api_key.requests_per_minute,
        per_day=api_key.requests_per_day,
    )


def _count(subject: str, window: int, limit: int, now: float) -> RateLimit:
    start = int(now // window) * window
    key = f"ratelimit:{subject}:{window}:{start}"
    reset = max(math.ceil(start + window - now), 1)
    for _ in range(2):  # the counter can expire between add and incr: create it again once
        cache.add(key, 0, window + 5)
        try:
            used = cache.incr(key)
            break
        except ValueError:
            continue
    else:
        raise RuntimeError("rate-limit counter vanished twice")
    return RateLimit(used <= limit, limit, max(limit - used, 0), reset, window)


def _tightest(minute: RateLimit, day: RateLimit | None) -> RateLimit:
    """The window to report: a full one, else the one with fewer requests left."""
    if day is None:  # the minute window refused, so the day was not counted
        return minute
    if not day.allowed:
        return day
    return day if day.remaining < minute.remaining else minute


def _limited(decision: RateLimit) -> ApiError:
    per_day = decision.window == DAY
    headers = {"Retry-After": str(min(decision.reset_seconds, 60)), **decision.headers()}
    if per_day:  # retrying within the minute cannot help; the true reset is in x-ratelimit-reset
        headers["x-should-retry"] = "false"
    return ApiError(
        f"Rate limit exceeded: {decision.limit} requests per "
        f"{'day' if per_day else 'minute'} for this key.",
        status=429,
        code="rate_limited",
        headers=headers,
    )

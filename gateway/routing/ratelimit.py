"""Per-key request limits: fixed per-minute and per-day windows counted atomically in the cache.

`cache.add` creates a window's counter and `cache.incr` counts (atomic on Redis and locmem), so
parallel requests on any number of nodes let exactly `limit` through per window. Every request
that reaches the limiter counts, rejected ones included; failed upstream attempts do not count
extra (one request = one unit, whatever its fallbacks).

On Redis both windows are counted in one round trip (a Lua script doing the same INCR and
expiry). When the cache (Redis) is unreachable the limiter fails closed: 503
`rate_limiter_unavailable` with Retry-After, bounded by the cache's 1 s socket timeouts, instead
of letting unlimited traffic through.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from accounts.models import ApiKey
from gateway.errors import ApiError

logger = logging.getLogger(__name__)

MINUTE, DAY = 60, 86400
WINDOW_SLACK_SECONDS = 5

# KEYS: minute and day counters; ARGV: their TTLs and the minute limit. The day window is only
# counted when the minute window let the request through (as in the add + incr path).
COUNT_BOTH = """
local minute = redis.call('INCR', KEYS[1])
if minute == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if minute > tonumber(ARGV[3]) then return {minute, -1} end
local day = redis.call('INCR', KEYS[2])
if day == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return {minute, day}
"""


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
        if isinstance(_backend(), RedisCache):
            minute, day = _count_on_redis(subject, per_minute, per_day, now)
        else:
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


def _backend() -> object:
    return caches["default"]


def _window(subject: str, window: int, now: float) -> tuple[str, int]:
    start = int(now // window) * window
    return f"ratelimit:{subject}:{window}:{start}", max(math.ceil(start + window - now), 1)


def _count_on_redis(
    subject: str, per_minute: int, per_day: int, now: float
) -> tuple[RateLimit, RateLimit | None]:
    backend = _backend()
    (minute_key, minute_reset), (day_key, day_reset) = (
        _window(subject, MINUTE, now),
        _window(subject, DAY, now),
    )
    keys = [backend.make_and_validate_key(minute_key), backend.make_and_validate_key(day_key)]
    client = backend._cache.get_client(keys[0], write=True)
    used_minute, used_day = client.eval(
        COUNT_BOTH,
        2,
        *keys,
        MINUTE + WINDOW_SLACK_SECONDS,
        DAY + WINDOW_SLACK_SECONDS,
        per_minute,
    )
    minute = RateLimit(
        used_minute <= per_minute, per_minute, max(per_minute - used_minute, 0), minute_reset
    )
    if used_day < 0:
        return minute, None
    day = RateLimit(used_day <= per_day, per_day, max(per_day - used_day, 0), day_reset, DAY)
    return minute, day


def _count(subject: str, window: int, limit: int, now: float) -> RateLimit:
    key, reset = _window(subject, window, now)
    for _ in range(2):  # the counter can expire between add and incr: create it again once
        cache.add(key, 0, window + WINDOW_SLACK_SECONDS)
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

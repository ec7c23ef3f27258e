"""Per-key request limits: sliding per-minute and per-day windows counted in the shared cache.

A window is counted in BUCKETS buckets (1 s buckets for the minute, 24 min for the day). A
request is let through when the buckets that overlap the last window, the oldest one whole, hold
fewer than `limit` requests, so no span of the window's length ever holds more than `limit`
(a fixed window let twice the limit through across a minute boundary). Counting the oldest
bucket whole makes the limit at most one bucket stricter than exact. Refused requests do not
count, so a client that keeps retrying is served as soon as the window has room again.
Failed upstream attempts do not count extra (one request = one unit, whatever its fallbacks).

On Redis both windows are checked and counted in one round trip (a Lua script over one hash
per window). Other caches use the Django cache API only: `add` + `incr` on the current bucket of
each window, one `get_many` over the buckets, and a `decr` to take a refused request back, so
parallel requests on any number of nodes still let at most `limit` through. When the cache
(Redis) is unreachable the limiter fails closed: 503 `rate_limiter_unavailable` with
Retry-After, bounded by the cache's 1 s socket timeouts, instead of letting unlimited traffic
through.
"""

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from accounts.models import ApiKey
from gateway.api.errors import ApiError

logger = logging.getLogger(__name__)

MINUTE, DAY = 60, 86400
BUCKETS = 60
TTL_SLACK_SECONDS = 5

# KEYS: the minute and day hashes (field = bucket number, value = requests counted in it).
# ARGV: BUCKETS, then per window its current bucket, limit and TTL. Buckets that left the
# window are deleted; the request is counted in both windows only when both have room.
# Returns {allowed, minute buckets, day buckets}, each as a flat {bucket, count, ...} list.
SLIDING_WINDOWS = """
local span = tonumber(ARGV[1])
local function load(key, current)
  local flat = redis.call('HGETALL', key)
  local counts, used = {}, 0
  for i = 1, #flat, 2 do
    local bucket, count = tonumber(flat[i]), tonumber(flat[i + 1])
    if bucket < current - span then
      redis.call('HDEL', key, flat[i])
    else
      used = used + count
      counts[#counts + 1] = bucket
      counts[#counts + 1] = count
    end
  end
  return used, counts
end
local minute_used, minute_counts = load(KEYS[1], tonumber(ARGV[2]))
local day_used, day_counts = load(KEYS[2], tonumber(ARGV[5]))
if minute_used >= tonumber(ARGV[3]) or day_used >= tonumber(ARGV[6]) then
  return {0, minute_counts, day_counts}
end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HINCRBY', KEYS[2], ARGV[5], 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
return {1, minute_counts, day_counts}
"""


@dataclass(frozen=True)
class RateLimit:
    """The state of the tightest window after this request."""

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


@dataclass(frozen=True)
class _Window:
    seconds: int
    limit: int
    now: float

    @property
    def bucket_seconds(self) -> int:
        return self.seconds // BUCKETS

    @property
    def current(self) -> int:
        return int(self.now // self.bucket_seconds)

    @property
    def ttl(self) -> int:
        return self.seconds + self.bucket_seconds + TTL_SLACK_SECONDS

    def buckets(self) -> range:
        """Every bucket that overlaps the window ending now (the oldest one partly)."""
        return range(self.current - BUCKETS, self.current + 1)

    def state(self, counts: dict[int, int], *, counted: bool) -> RateLimit:
        """The window after this request; `counts` include it when it was `counted`."""
        used = sum(counts.values())
        room = used <= self.limit if counted else used < self.limit
        # Seconds until the window has room again, or (with room) until its oldest request
        # leaves it: a bucket leaves when the window's start passes the bucket's end.
        needed = 1 if room else used + 1 - self.limit
        reset: float = self.seconds
        for bucket in sorted(counts):
            needed -= counts[bucket]
            if needed <= 0:
                reset = (bucket + 1) * self.bucket_seconds + self.seconds - self.now
                break
        return RateLimit(
            room, self.limit, max(self.limit - used, 0), max(math.ceil(reset), 1), self.seconds
        )


def rate_limit_check(
    *, subject: str, per_minute: int, per_day: int, now: float | None = None
) -> RateLimit:
    """Count one request for `subject`; raise ApiError 429 when a window is full, 503 on outage.

    `now` (epoch seconds) is the clock, passed by tests; requests use the current time.
    """
    now = time.time() if now is None else now
    minute, day = _Window(MINUTE, per_minute, now), _Window(DAY, per_day, now)
    try:
        if isinstance(_backend(), RedisCache):
            allowed, minute_counts, day_counts = _count_on_redis(subject, minute, day)
        else:
            allowed, minute_counts, day_counts = _count_in_cache(subject, minute, day)
    except Exception:
        logger.warning("rate limiter unavailable (cache error)")
        raise ApiError(
            "The rate limiter is unavailable; try again shortly.",
            status=503,
            code="rate_limiter_unavailable",
            headers={"Retry-After": "1"},
        ) from None
    decision = _tightest(
        minute.state(minute_counts, counted=allowed), day.state(day_counts, counted=allowed)
    )
    if not allowed:
        raise _limited(decision)
    return decision


def rate_limit_api_key(api_key: ApiKey) -> RateLimit:
    """The limits of an OpenProvider key (its own or the defaults)."""
    return rate_limit_check(
        subject=f"key:{api_key.pk}",
        per_minute=api_key.requests_per_minute,
        per_day=api_key.requests_per_day,
    )


def _backend() -> Any:
    return caches["default"]


def _count_on_redis(
    subject: str, minute: _Window, day: _Window
) -> tuple[bool, dict[int, int], dict[int, int]]:
    backend = _backend()
    keys = [
        backend.make_and_validate_key(f"ratelimit:{subject}:{window.seconds}")
        for window in (minute, day)
    ]
    client = backend._cache.get_client(keys[0], write=True)
    allowed, minute_flat, day_flat = client.eval(
        SLIDING_WINDOWS,
        2,
        *keys,
        BUCKETS,
        *(minute.current, minute.limit, minute.ttl),
        *(day.current, day.limit, day.ttl),
    )
    counts = [_pairs(minute_flat), _pairs(day_flat)]
    if allowed:  # the script counted this request after reading the buckets
        for window, window_counts in zip((minute, day), counts, strict=True):
            window_counts[window.current] = window_counts.get(window.current, 0) + 1
    return bool(allowed), counts[0], counts[1]


def _pairs(flat: list[int]) -> dict[int, int]:
    return {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _bucket_key(subject: str, window: _Window, bucket: int) -> str:
    return f"ratelimit:{subject}:{window.seconds}:b{bucket}"


def _count_in_cache(
    subject: str, minute: _Window, day: _Window
) -> tuple[bool, dict[int, int], dict[int, int]]:
    """Count first, then read every bucket: a request that finds its window over the limit takes
    its count back, so of parallel requests at most `limit` see room (each sees all earlier)."""
    windows = (minute, day)
    for window in windows:
        counter_increment(_bucket_key(subject, window, window.current), window.ttl)
    names = {
        window: {bucket: _bucket_key(subject, window, bucket) for bucket in window.buckets()}
        for window in windows
    }
    values = cache.get_many([name for by_bucket in names.values() for name in by_bucket.values()])
    counts = [
        {bucket: values[name] for bucket, name in names[window].items() if values.get(name)}
        for window in windows
    ]
    allowed = all(
        sum(window_counts.values()) <= window.limit
        for window, window_counts in zip(windows, counts, strict=True)
    )
    if not allowed:
        for window, window_counts in zip(windows, counts, strict=True):
            counter_decrement(_bucket_key(subject, window, window.current))
            window_counts[window.current] = max(window_counts.get(window.current, 0) - 1, 0)
    return allowed, counts[0], counts[1]


def counter_increment(key: str, ttl: int) -> int:
    """Count one in a shared counter that expires `ttl` seconds after it was created."""
    for _ in range(2):  # the counter can expire between add and incr: create it again once
        cache.add(key, 0, ttl)
        try:
            return cache.incr(key)
        except ValueError:
            continue
    raise RuntimeError("counter vanished twice")


def counter_decrement(key: str) -> None:
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing left to take back
        cache.decr(key)


def _tightest(minute: RateLimit, day: RateLimit) -> RateLimit:
    """The window to report: a full one, else the one with fewer requests left."""
    if not minute.allowed:
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

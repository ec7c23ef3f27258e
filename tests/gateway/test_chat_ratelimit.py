"""Per-key limits: atomic across threads and processes; Redis down fails closed."""

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.routing.ratelimit import rate_limit_api_key, rate_limit_check

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def redis_caches(prefix: str, location: str = REDIS_URL) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }


def away_from_a_minute_edge(margin: float = 5.0) -> None:
    """Fixed windows: make sure a burst cannot straddle two minutes."""
    into_minute = time.time() % 60
    if into_minute > 60 - margin:
        time.sleep(60 - into_minute + 0.1)


def allowed_in_parallel(subject: str, calls: int, limit: int) -> int:
    def one(_: int) -> bool:
        try:
            rate_limit_check(subject=subject, per_minute=limit, per_day=1000)
        except ApiError as error:
            if error.status_code != 429:
                raise
            return False
        return True

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return sum(pool.map(one, range(calls)))


def test_fifty_parallel_requests_against_a_limit_of_ten_let_exactly_ten_through():
    away_from_a_minute_edge()
    assert allowed_in_parallel("key:parallel", calls=50, limit=10) == 10


def test_the_429_names_the_window_and_carries_retry_after_and_ratelimit_headers():
    for _ in range(3):
        rate_limit_check(subject="key:headers", per_minute=3, per_day=100)

    with pytest.raises(ApiError) as raised:
        rate_limit_check(subject="key:headers", per_minute=3, per_day=100)

    error = raised.value
    assert (error.status_code, error.code) == (429, "rate_limited")
    assert "per minute" in error.message
    assert 1 <= int(error.headers["Retry-After"]) <= 60
    assert error.headers["x-ratelimit-limit"] == "3"
    assert error.headers["x-ratelimit-remaining"] == "0"


def test_the_daily_limit_says_not_to_retry_soon():
    rate_limit_check(subject="key:daily", per_minute=10, per_day=1)

    with pytest.raises(ApiError) as raised:
        rate_limit_check(subject="key:daily", per_minute=10, per_day=1)

    assert "per day" in raised.value.message
    assert raised.value.headers["x-should-retry"] == "false"
    assert int(raised.value.headers["x-ratelimit-reset"]) > 0


@pytest.mark.django_db
def test_a_keys_own_limits_apply(created_key):
    created_key.api_key.rpm_limit = 1

    first = rate_limit_api_key(created_key.api_key)
    with pytest.raises(ApiError):
        rate_limit_api_key(created_key.api_key)

    assert (first.limit, first.remaining) == (1, 0)


@pytest.mark.redis
def test_fifty_parallel_requests_share_one_counter_in_real_redis():
    away_from_a_minute_edge()
    with override_settings(CACHES=redis_caches(f"rl-test-{uuid.uuid4().hex}")):
        allowed = allowed_in_parallel("key:redis", calls=50, limit=10)
        caches["default"].clear()

    assert allowed == 10


@pytest.mark.redis
def test_two_processes_share_one_counter_in_real_redis():
    prefix = f"rl-test-{uuid.uuid4().hex}"
    script = (
        "import django; django.setup()\n"
        "from tests.gateway.test_chat_ratelimit import allowed_in_parallel\n"
        "print(allowed_in_parallel('key:processes', calls=25, limit=10))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
    }
    away_from_a_minute_edge(margin=15)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    counts = [int(worker.communicate(timeout=60)[0].strip().splitlines()[-1]) for worker in workers]

    assert sum(counts) == 10


def test_redis_down_fails_closed_with_503_within_about_a_second():
    with override_settings(CACHES=redis_caches("rl-down", "redis://127.0.0.1:1/0")):
        began = time.monotonic()
        with pytest.raises(ApiError) as raised:
            rate_limit_check(subject="key:down", per_minute=10, per_day=100)
        elapsed = time.monotonic() - began

    assert (raised.value.status_code, raised.value.code) == (503, "rate_limiter_unavailable")
    assert raised.value.headers["Retry-After"] == "1"
    assert elapsed < 1.5


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def limiter_cache(request):
    """The Django-cache fallback, and the Lua script path on a real Redis."""
    if request.param == "locmem":
        yield
        return
    with override_settings(CACHES=redis_caches(f"rl-test-{uuid.uuid4().hex}")):
        yield
        caches["default"].clear()


MINUTE_EDGE = 29_000_000 * 60.0  # a minute boundary, far from the real clock


def attempt(subject: str, now: float, per_minute: int = 60, per_day: int = 100_000):
    try:
        return rate_limit_check(subject=subject, per_minute=per_minute, per_day=per_day, now=now)
    except ApiError as error:
        if error.status_code != 429:
            raise
        return error


def test_a_burst_across_a_minute_boundary_gets_no_more_than_the_limit(limiter_cache):
    before = [attempt("key:edge", MINUTE_EDGE - 0.5) for _ in range(60)]
    after = [attempt("key:edge", MINUTE_EDGE + 0.5) for _ in range(60)]

    assert not any(isinstance(result, ApiError) for result in before)
    assert all(isinstance(result, ApiError) for result in after)  # a fixed window let 120 in


def test_no_sixty_second_span_holds_more_than_the_limit(limiter_cache):
    allowed = []
    now = MINUTE_EDGE - 37.3
    while now < MINUTE_EDGE + 240:  # a client trying 4 times a second for four minutes
        if not isinstance(attempt("key:span", now, per_minute=30), ApiError):
            allowed.append(now)
        now += 0.25

    busiest = max(sum(1 for t in allowed if end - 60 < t <= end) for end in allowed)
    assert busiest == 30
    assert len(allowed) >= 30 * 4 - 5  # refused tries do not count: it keeps being served


def test_retry_after_is_when_the_window_has_room_again(limiter_cache):
    start = MINUTE_EDGE + 10.2
    for offset in range(3):
        attempt("key:retry", start + offset * 5, per_minute=3)

    refused = attempt("key:retry", start + 20, per_minute=3)
    wait = int(refused.headers["Retry-After"])

    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(wait)
    assert 40 <= wait <= 42  # the first request (at +0) leaves the window about 60 s after it
    assert isinstance(attempt("key:retry", start + 20 + wait - 2, per_minute=3), ApiError)
    served = attempt("key:retry", start + 20 + wait, per_minute=3)
    assert not isinstance(served, ApiError)
    assert served.remaining == 0


def test_the_day_window_slides_too(limiter_cache):
    for hour in range(3):
        attempt("key:day", MINUTE_EDGE + hour * 3600, per_minute=10, per_day=3)

    refused = attempt("key:day", MINUTE_EDGE + 23 * 3600, per_minute=10, per_day=3)
    assert "per day" in refused.message
    assert refused.headers["x-should-retry"] == "false"
    reset = int(refused.headers["x-ratelimit-reset"])
    assert 3600 <= reset <= 3600 + 1440  # when the first one leaves (one 24-min bucket coarse)
    assert isinstance(
        attempt("key:day", MINUTE_EDGE + 24 * 3600, per_minute=10, per_day=3), ApiError
    )  # a fixed day window starting at midnight could have let this through
    assert not isinstance(
        attempt("key:day", MINUTE_EDGE + 23 * 3600 + reset, per_minute=10, per_day=3), ApiError
    )


def test_an_allowed_answer_reports_the_tightest_window(limiter_cache):
    first = attempt("key:tight", MINUTE_EDGE, per_minute=10, per_day=4)
    assert (first.limit, first.remaining, first.window) == (4, 3, 86400)

    second = attempt("key:tight", MINUTE_EDGE + 1, per_minute=2, per_day=100)
    assert (second.limit, second.remaining) == (2, 0)
    assert 58 <= second.reset_seconds <= 60  # the oldest request leaves the minute then

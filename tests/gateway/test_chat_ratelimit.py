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

from gateway.errors import ApiError
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

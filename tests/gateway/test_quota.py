"""Route budgets: known limits, provider-reported remaining, counts; spent routes are skipped
before they are called, and nodes sharing Redis never reserve one budget twice."""

import os
import subprocess
import sys
import uuid

import pytest
import responses
from django.core.exceptions import ValidationError
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.routing.quota import (
    known_limits,
    quota_record_hints,
    quota_reserve,
    spent_until_many,
    window_end,
)
from providers.models import validate_limits
from providers.ratelimits import read_rate_limits
from tests.gateway.conftest import ALT_CHAT, GROQ_CHAT, HELLO, groq_completion, make_model
from tests.gateway.test_chat_ratelimit import REDIS_URL, ROOT, redis_caches

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}
NOW = 1_780_000_010.0  # 10 s into a UTC minute


def test_known_limits_come_from_the_registry_and_the_operator(groq_model, alt_model):
    assert known_limits(groq_model) == {"minute": 30, "day": 1000}
    assert known_limits(alt_model) == {}  # a custom server: none unless the operator sets them

    alt_model.credential.limits = {"rpm": 2}
    groq_model.credential.limits = {"rpd": 14400}

    assert known_limits(alt_model) == {"minute": 2}
    assert known_limits(groq_model) == {"minute": 30, "day": 14400}


@pytest.mark.parametrize("value", [{"rpm": 0}, {"rpm": "5"}, {"rph": 5}, {"rpd": True}, [1]])
def test_operator_limits_are_validated(value):
    with pytest.raises(ValidationError):
        validate_limits(value)


def test_a_reservation_over_the_known_limit_is_refused_and_not_kept(alt_model):
    alt_model.credential.limits = {"rpm": 2, "rpd": 3}

    results = [quota_reserve(alt_model, now=NOW) for _ in range(3)]

    assert results == [None, None, window_end("minute", NOW)]
    # The refused call did not eat the day budget: the next minute still has one call.
    assert quota_reserve(alt_model, now=NOW + 60) is None
    assert quota_reserve(alt_model, now=NOW + 61) == window_end("day", NOW)


def test_spent_routes_are_known_in_one_read(alt_model, groq_model):
    alt_model.credential.limits = {"rpm": 1}
    quota_reserve(alt_model, now=NOW)

    spent = spent_until_many([alt_model, groq_model], now=NOW)

    assert spent == {f"r:{alt_model.credential_id}:alt-chat": window_end("minute", NOW)}
    assert spent_until_many([alt_model], now=NOW + 60) == {}


def test_what_the_provider_said_marks_a_budget_spent_until_its_reset(groq_model):
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2h"}
    quota_record_hints(groq_model, read_rate_limits(headers, requests_window="day", now=NOW), NOW)

    spent = spent_until_many([groq_model], now=NOW)

    assert list(spent.values()) == [pytest.approx(NOW + 7200)]


def test_a_route_whose_budget_is_spent_is_skipped_before_it_is_called(
    chat_call, groq_model, alt_model, http_mock
):
    # groq ranks first; its answer says no request is left today.
    spent_headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3h"}
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(), headers=spent_headers)
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    first = chat_call(AUTO)
    second = chat_call(AUTO)

    assert first.body["model"] == groq_model.public_id
    assert second.body["model"] == alt_model.public_id
    assert [c.request.url for c in http_mock.calls] == [GROQ_CHAT, ALT_CHAT]


def test_every_budget_spent_is_429_not_an_upstream_call(chat_call, alt, http_mock):
    alt.limits = {"rpm": 1}
    alt.save()
    make_model(alt, "alt-chat")
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    chat_call(AUTO)
    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    assert (raised.value.status_code, raised.value.code) == (429, "rate_limited_upstream")
    assert 1 <= int(raised.value.headers["Retry-After"]) <= 60
    assert len(http_mock.calls) == 1


def reserved_in_parallel(credential_id: int, limit: int, calls: int, now: float) -> int:
    """Reservations granted out of `calls` parallel tries against an rpm of `limit`."""
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    credential = SimpleNamespace(limits={"rpm": limit})
    model = SimpleNamespace(
        provider="custom",
        credential=credential,
        credential_id=credential_id,
        upstream_id="m",
        overrides={},
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        granted = list(pool.map(lambda _: quota_reserve(model, now=now) is None, range(calls)))
    return sum(granted)


@pytest.mark.redis
def test_two_processes_sharing_redis_never_reserve_one_budget_twice():
    prefix = f"quota-test-{uuid.uuid4().hex}"
    script = (
        "import django; django.setup()\n"
        "from tests.gateway.test_quota import reserved_in_parallel\n"
        f"print(reserved_in_parallel(99, limit=10, calls=25, now={NOW}))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    counts = [int(worker.communicate(timeout=60)[0].strip().splitlines()[-1]) for worker in workers]

    assert sum(counts) == 10
    with override_settings(CACHES=redis_caches(prefix)):
        assert spent_until_many_for(99, NOW) == window_end("minute", NOW)


def spent_until_many_for(credential_id: int, now: float) -> float | None:
    from types import SimpleNamespace

    model = SimpleNamespace(
        provider="custom",
        credential=SimpleNamespace(limits={"rpm": 10}),
        credential_id=credential_id,
        upstream_id="m",
        overrides={},
    )
    return spent_until_many([model], now=now).get(f"r:{credential_id}:m")


def _openrouter_reset_hints(reset_at: float):
    headers = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}
    headers["X-RateLimit-Reset"] = str(int(reset_at * 1000))
    return read_rate_limits(headers, now=NOW)


def test_the_minute_follows_the_reset_the_provider_reported(alt_model):
    alt_model.credential.limits = {"rpm": 2}
    # The provider's minute resets 20 s from now, at :30 of the UTC minute.
    quota_record_hints(alt_model, _openrouter_reset_hints(NOW + 20), NOW)

    results = [quota_reserve(alt_model, now=NOW) for _ in range(3)]

    assert results[:2] == [None, None]
    assert results[2] == pytest.approx(NOW + 20, abs=0.5)  # its reset, not the UTC minute's
    assert quota_reserve(alt_model, now=NOW + 21) is None  # the provider's next minute
    assert spent_until_many([alt_model], now=NOW + 21) == {}


def test_calls_counted_before_the_phase_was_learnt_stay_counted(alt_model):
    alt_model.credential.limits = {"rpm": 2}
    assert [quota_reserve(alt_model, now=NOW) for _ in range(2)] == [None, None]

    quota_record_hints(alt_model, _openrouter_reset_hints(NOW + 20), NOW)

    assert quota_reserve(alt_model, now=NOW + 1) == pytest.approx(NOW + 20, abs=0.5)


def test_a_reset_a_moment_off_the_known_phase_keeps_the_window(alt_model):
    alt_model.credential.limits = {"rpm": 1}
    quota_record_hints(alt_model, _openrouter_reset_hints(NOW + 20), NOW)
    assert quota_reserve(alt_model, now=NOW) is None

    # A later answer's reset differs by latency only: still the same window, still spent.
    quota_record_hints(alt_model, _openrouter_reset_hints(NOW + 20.6), NOW + 1)

    assert quota_reserve(alt_model, now=NOW + 2) == pytest.approx(NOW + 20, abs=0.5)

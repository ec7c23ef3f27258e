"""429 classification (minute / day / unknown) and the cooldown each earns, with an injected
clock: bare 429s back off and escalate, then park the route until UTC midnight."""

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.routing.backoff import classify_429, rate_limit_cooldown
from gateway.routing.cooldowns import route_pending_successes_clear, route_record_success
from providers.errors import error_for_status
from providers.ratelimits import read_rate_limits
from tests.conftest import provider_fixture
from tests.gateway.conftest import GROQ_CHAT, HELLO

ROUTE = (7, "llama-3.3-70b-versatile")
NOW = 1_779_999_970.0  # 10 s into a UTC minute
MIDNIGHT = 1_780_012_800.0


def a_429(headers=None, body=None, now=NOW):
    hints = read_rate_limits(headers or {}, body, now=now)
    return error_for_status(429, "rate limited", retry_after=hints.retry_after(now), hints=hints)


@pytest.mark.parametrize(
    ("headers", "body", "kind"),
    [
        ({}, "gemini/error_429_quota_free_tier.json", "minute"),
        ({}, "groq/error_429_tpm_2026.json", "minute"),
        ({}, "openrouter/error_429_free_models_per_day_high_balance.json", "day"),
        ({"retry-after": "7"}, None, "minute"),
        ({"retry-after": "3600"}, None, "day"),
        ({"x-ratelimit-remaining-requests-day": "0"}, None, "day"),
        ({}, "openrouter/error_429_upstream_rate_limited.json", "unknown"),
        ({}, "mistral/error_429_rate_limited.json", "unknown"),
        ({}, None, "unknown"),
    ],
)
def test_a_429_is_a_minute_a_day_or_an_unknown_limit(headers, body, kind):
    error = a_429(headers, provider_fixture(body) if body else None)

    assert classify_429(error, NOW) == kind


def test_a_minute_limit_cools_until_its_hint_and_a_day_limit_until_midnight():
    minute = rate_limit_cooldown(ROUTE, a_429({"retry-after": "7"}), NOW)
    day = rate_limit_cooldown(
        ROUTE,
        a_429(body=provider_fixture("openrouter/error_429_free_models_per_day_high_balance.json")),
        NOW,
    )

    assert minute == (pytest.approx(NOW + 7), "minute")
    assert day == (MIDNIGHT, "day")


@override_settings(GATEWAY_BARE_429_PARK_AFTER=4, GATEWAY_PARKED_PROBE_SECONDS=300)
def test_bare_429s_escalate_within_the_minute_then_park_with_a_slow_probe():
    untils = [rate_limit_cooldown(ROUTE, a_429(), NOW) for _ in range(5)]

    assert untils[:3] == [(NOW + 5, "unknown"), (NOW + 10, "unknown"), (NOW + 20, "unknown")]
    assert untils[3:] == [(NOW + 300, "day"), (NOW + 300, "day")]  # probed every 5 minutes


@override_settings(GATEWAY_BARE_429_PARK_AFTER=2)
def test_a_bare_429_never_cools_past_the_next_minute_boundary():
    late = NOW + 48  # 58 s into the minute
    assert rate_limit_cooldown(ROUTE, a_429(now=late), late).until == NOW + 50


@override_settings(GATEWAY_BARE_429_PARK_AFTER=2)
def test_bare_429s_are_never_parked_while_the_known_day_budget_is_mostly_left():
    untils = [rate_limit_cooldown(ROUTE, a_429(), NOW, day_left=True) for _ in range(4)]

    # A minute window that does not start on the UTC minute, not a spent day.
    assert [kind for _until, kind in untils] == ["unknown"] * 4
    assert max(until for until, _kind in untils) <= NOW + 50


@pytest.mark.django_db
def test_the_day_budget_is_left_only_when_known_and_far_from_spent(alt_model, groq_model):
    from gateway.routing.quota import quota_day_left, quota_reserve

    alt_model.credential.limits = {"rpd": 10}
    assert not quota_day_left(groq_model, now=NOW)  # known (1000 a day) but nothing counted
    assert quota_reserve(groq_model, now=NOW) is None
    assert quota_day_left(groq_model, now=NOW)
    for _ in range(10):
        quota_reserve(alt_model, now=NOW)
    assert not quota_day_left(alt_model, now=NOW)  # 10 of 10 spent


@override_settings(GATEWAY_BARE_429_PARK_AFTER=2)
def test_a_provider_that_charges_failures_is_not_probed_while_parked():
    rate_limit_cooldown(ROUTE, a_429(), NOW, charges_failures=True)

    parked = rate_limit_cooldown(ROUTE, a_429(), NOW, charges_failures=True)

    assert parked == (MIDNIGHT, "day")


@override_settings(GATEWAY_BARE_429_PARK_AFTER=2, GATEWAY_HEALTH_FLUSH_SECONDS=0)
def test_a_success_ends_the_run_of_bare_429s():
    route_pending_successes_clear()
    rate_limit_cooldown(ROUTE, a_429(), NOW)
    route_record_success(ROUTE, 100.0)

    assert rate_limit_cooldown(ROUTE, a_429(), NOW) == (NOW + 5, "unknown")
    assert cache.get(f"route-bare429:{ROUTE[0]}:{ROUTE[1]}") == 1


@pytest.mark.django_db
def test_a_refusal_after_a_bare_429_says_when_the_route_is_back(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={})

    with pytest.raises(ApiError) as raised:
        chat_call({"model": groq_model.public_id, "messages": HELLO})

    assert (raised.value.status_code, raised.value.code) == (429, "rate_limited_upstream")
    assert 1 <= int(raised.value.headers["Retry-After"]) <= 5  # the bare-429 cooldown, not 60

"""What a route's quota object says: budgets from counts and the provider's word, and the state
(ok, cooling minute/day/unknown, parked, breaker open, a broken key), for many routes in one
cache round trip."""

import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.test import override_settings

from gateway.routing.candidates import route_of
from gateway.routing.cooldowns import route_record_failure
from gateway.routing.quota import quota_record_hints, quota_reserve, window_end
from gateway.routing.quota_view import route_quotas
from providers.errors import ProviderError, error_for_status
from providers.ratelimits import read_rate_limits
from tests.conftest import provider_fixture
from tests.gateway.conftest import make_model
from tests.providers.test_ratelimits import GROQ_HEADERS

pytestmark = pytest.mark.django_db

NOW = 1_780_000_010.0  # 10 s into a UTC minute
REFUSED = ProviderError("connection refused", kind="connection", retryable=True)


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def quota_of(model, now=None):
    return route_quotas([model], now=now)[route_of(model)]


def a_429(headers=None, body=None):
    now = time.time()
    hints = read_rate_limits(headers or {}, body, now=now)
    return error_for_status(429, "rate limited", retry_after=hints.retry_after(now), hints=hints)


def test_an_idle_route_with_known_limits_has_its_whole_budget(groq_model):
    quota = quota_of(groq_model, NOW)

    assert quota["state"] == "ok"
    assert quota["minute"] == {
        "limit": 30,
        "remaining": 30,
        "resets_at": iso(window_end("minute", NOW)),
    }
    assert quota["day"] == {
        "limit": 1000,
        "remaining": 1000,
        "resets_at": iso(window_end("day", NOW)),
    }
    assert quota["day"]["resets_at"].endswith("T00:00:00Z")
    assert quota["shared"] is False


def test_a_custom_server_without_limits_has_no_budget(alt_model):
    quota = quota_of(alt_model, NOW)

    assert quota == {
        "state": "ok",
        "until": None,
        "kind": None,
        "reason": None,
        "shared": False,
    }  # no window is known


def test_spent_calls_leave_the_rest_of_the_known_budget(alt_model):
    alt_model.credential.limits = {"rpm": 5, "rpd": 50}
    for _ in range(3):
        quota_reserve(alt_model, now=NOW)

    quota = quota_of(alt_model, NOW)

    assert quota["minute"]["remaining"] == 2
    assert quota["day"] == {"limit": 50, "remaining": 47, "resets_at": iso(window_end("day", NOW))}
    assert quota_of(alt_model, NOW + 60)["minute"]["remaining"] == 5  # a new minute


def test_the_providers_remaining_wins_when_it_leaves_less(groq_model):
    # Groq's `-requests` family counts the day (1m2.5s to its reset), `-tokens` the minute.
    hints = read_rate_limits(GROQ_HEADERS, requests_window="day", now=NOW)
    quota_record_hints(groq_model, hints, NOW)
    quota_reserve(groq_model, now=NOW)

    quota = quota_of(groq_model, NOW)

    assert quota["day"] == {"limit": 1000, "remaining": 987, "resets_at": iso(NOW + 62.5)}
    assert quota["minute"]["remaining"] == 29  # our own count: the provider said nothing
    assert quota["tokens_minute"] == {"limit": 8000, "remaining": 7560, "resets_at": iso(NOW + 3.3)}
    assert quota["state"] == "ok"


def test_a_budget_the_provider_says_is_gone_cools_the_route_until_its_reset(groq_model):
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2h"}
    quota_record_hints(groq_model, read_rate_limits(headers, requests_window="day", now=NOW), NOW)

    quota = quota_of(groq_model, NOW)

    assert quota["day"]["remaining"] == 0
    assert (quota["state"], quota["kind"], quota["until"]) == ("cooling", "day", iso(NOW + 7200))


def test_a_known_minute_budget_spent_cools_the_route_until_the_minute_ends(alt_model):
    alt_model.credential.limits = {"rpm": 1}
    quota_reserve(alt_model, now=NOW)

    quota = quota_of(alt_model, NOW)

    assert (quota["state"], quota["kind"]) == ("cooling", "minute")
    assert quota["until"] == iso(window_end("minute", NOW))


def test_a_minute_429_shows_the_route_cooling_until_its_reset(groq_model):
    route_record_failure(route_of(groq_model), a_429({"retry-after": "20"}))

    quota = quota_of(groq_model)

    assert (quota["state"], quota["kind"], quota["reason"]) == ("cooling", "minute", None)
    until = datetime.fromisoformat(quota["until"]).timestamp()
    assert 18 <= until - time.time() <= 21


def test_a_day_429_shows_the_route_cooling_until_midnight(groq_model):
    body = provider_fixture("openrouter/error_429_free_models_per_day_high_balance.json")
    route_record_failure(route_of(groq_model), a_429(body=body))

    quota = quota_of(groq_model)

    assert (quota["state"], quota["kind"]) == ("cooling", "day")
    assert quota["until"] == iso(window_end("day", time.time()))


def test_a_bare_429_cools_briefly_as_an_unknown_limit(groq_model):
    route_record_failure(route_of(groq_model), a_429())

    assert (quota_of(groq_model)["state"], quota_of(groq_model)["kind"]) == ("cooling", "unknown")


@override_settings(GATEWAY_BARE_429_PARK_AFTER=3, GATEWAY_PARKED_PROBE_SECONDS=300)
def test_bare_429s_in_a_row_show_the_route_parked(groq_model):
    for _ in range(3):
        route_record_failure(route_of(groq_model), a_429())

    quota = quota_of(groq_model)

    assert (quota["state"], quota["kind"]) == ("parked", "day")
    until = datetime.fromisoformat(quota["until"]).timestamp()
    assert until - time.time() <= 300


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=5)
def test_an_outage_shows_the_breaker_open_with_its_reason_then_half_open(groq_model):
    route = route_of(groq_model)
    for _ in range(3):
        route_record_failure(route, REFUSED)

    quota = quota_of(groq_model)
    cache.delete(f"route-cooldown:{route[0]}:{route[1]}")  # what the cooldown's expiry does
    later = quota_of(groq_model)

    assert (quota["state"], quota["reason"], quota["kind"]) == (
        "breaker_open",
        "connection refused",
        None,
    )
    assert 0 < datetime.fromisoformat(quota["until"]).timestamp() - time.time() <= 5
    assert (later["state"], later["until"]) == ("breaker_half_open", None)


def test_a_key_that_failed_authentication_says_so(groq_model):
    groq_model.credential.state = "auth_failed"

    assert quota_of(groq_model, NOW)["state"] == "auth_failed"


def test_an_account_wide_budget_is_marked_shared(workspace):
    from tests.gateway.conftest import make_credential

    openrouter = make_credential(workspace, "openrouter", "openrouter")
    first, second = make_model(openrouter, "a:free"), make_model(openrouter, "b:free")
    quota_reserve(first, now=NOW)

    quotas = route_quotas([first, second], now=NOW)

    assert [quotas[route_of(m)]["minute"]["remaining"] for m in (first, second)] == [19, 19]
    assert quotas[route_of(first)]["shared"] is True


class CountingCache:
    """The cache, counting the calls that reach it."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.real, name)


def test_many_routes_are_read_in_one_cache_round_trip(monkeypatch, groq_model, alt_model):
    more = [make_model(groq_model.credential, f"m{i}") for i in range(20)]
    counting = CountingCache(cache)
    monkeypatch.setattr("gateway.routing.quota_view.cache", counting)

    quotas = route_quotas([groq_model, alt_model, *more], now=NOW)

    assert len(quotas) == 22
    assert counting.calls == ["get_many"]


def test_a_cooldown_no_clock_can_show_is_cooling_without_a_time(groq_model):
    cache.set(f"route-cooldown:{groq_model.credential_id}:{groq_model.upstream_id}", 1e15, 60)

    quota = quota_of(groq_model)

    assert (quota["state"], quota["until"]) == ("cooling", None)


@pytest.mark.redis
def test_on_the_shared_redis_cache_many_routes_are_one_mget(monkeypatch, groq_model, alt_model):
    from django.core.cache import caches
    from django.test import override_settings

    from tests.gateway.test_chat_ratelimit import redis_caches

    shared = redis_caches(f"quota-view-{time.time_ns()}")
    shared["default"]["BACKEND"] = "config.infra.redis_pool.SharedRedisCache"
    with override_settings(CACHES=shared):
        redis_cache = caches["default"]
        route = route_of(alt_model)
        redis_cache.set(f"route-cooldown:{route[0]}:{route[1]}", time.time() + 30, 30)
        route_quotas([groq_model, alt_model])  # the routes' minute phases, kept per process
        client = redis_cache._cache.get_client()
        commands = []
        real_mget = type(client).mget
        monkeypatch.setattr(
            type(client),
            "mget",
            lambda self, *a, **k: commands.append(1) or real_mget(self, *a, **k),
        )

        quotas = route_quotas([groq_model, alt_model])

    assert commands == [1]
    assert quotas[route]["state"] == "cooling"
    assert quotas[route_of(groq_model)]["state"] == "ok"

"""Outages are not rate limits: a half-open breaker brings a route back within seconds, every
route broken answers 503 upstream_unavailable, and an upstream 401 marks the key auth_failed."""

import time

import pytest
import requests
import responses
from django.core.cache import cache
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.routing.candidates import route_of, without_cooling
from gateway.routing.cooldowns import route_record_failure, route_record_success
from providers.errors import ProviderError
from providers.models import ProviderCredential
from tests.gateway.conftest import GROQ_CHAT, HELLO

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}
REFUSED = ProviderError("connection refused", kind="connection", retryable=True)


def cooldown_seconds(route) -> float:
    return cache.get(f"route-cooldown:{route[0]}:{route[1]}") - time.time()


def cooldown_ends(route) -> None:
    """What the cooldown key's expiry does, without waiting for it."""
    cache.delete(f"route-cooldown:{route[0]}:{route[1]}")


def trip(route) -> None:
    for _ in range(3):
        route_record_failure(route, REFUSED)


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=5)
def test_an_open_breaker_lets_a_trial_through_after_seconds_not_minutes(groq_model):
    route = route_of(groq_model)

    trip(route)

    assert 3 < cooldown_seconds(route) <= 5


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=5)
def test_half_open_one_request_tries_while_the_others_fall_back(groq_model, alt_model):
    trip(route_of(groq_model))
    cooldown_ends(route_of(groq_model))

    first = without_cooling([groq_model, alt_model])
    second = without_cooling([groq_model, alt_model])

    assert first == [groq_model, alt_model]
    assert second == [alt_model]


@override_settings(
    GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=5, GATEWAY_BREAKER_OPEN_SECONDS=12
)
def test_a_failed_trial_reopens_at_once_for_twice_as_long_up_to_the_cap(groq_model):
    route = route_of(groq_model)
    trip(route)

    route_record_failure(route, REFUSED)  # the trial
    assert 8 < cooldown_seconds(route) <= 10
    route_record_failure(route, REFUSED)
    assert 10 < cooldown_seconds(route) <= 12


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_HEALTH_FLUSH_SECONDS=0)
def test_a_successful_trial_closes_the_breaker(groq_model, alt_model):
    route = route_of(groq_model)
    trip(route)
    cooldown_ends(route)
    without_cooling([groq_model])  # claims the trial

    route_record_success(route, 80.0)

    assert without_cooling([groq_model, alt_model]) == [groq_model, alt_model]
    assert without_cooling([groq_model, alt_model]) == [groq_model, alt_model]


@override_settings(GATEWAY_BREAKER_THRESHOLD=2)
def test_every_route_broken_is_503_upstream_unavailable_naming_the_reason(
    chat_call, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, body=requests.ConnectionError("refused"))
    for _ in range(2):
        with pytest.raises(ApiError) as failed:
            chat_call(AUTO)
        assert failed.value.status_code == 502

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    error = raised.value
    assert (error.status_code, error.code) == (503, "upstream_unavailable")
    assert groq_model.public_id in str(error.detail)
    assert "connect" in str(error.detail).lower()
    assert len(http_mock.calls) == 2


def test_an_upstream_401_marks_the_key_auth_failed_and_says_so(chat_call, groq_model, http_mock):
    http_mock.add(
        responses.POST, GROQ_CHAT, status=401, json={"error": {"message": "Invalid API Key"}}
    )

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    assert (raised.value.status_code, raised.value.code) == (502, "upstream_auth_failed")
    groq_model.credential.refresh_from_db()
    assert groq_model.credential.state == ProviderCredential.State.AUTH_FAILED

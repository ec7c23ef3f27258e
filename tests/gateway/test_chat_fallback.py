"""Fallback across candidates, cooldowns and the circuit breaker."""

import time

import pytest
import requests
import responses
from django.core.cache import cache
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from tests.conftest import provider_fixture
from tests.gateway.conftest import ALT_CHAT, GROQ_CHAT, GROQ_KEY, HELLO, groq_completion

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}


def cooldown_until(model) -> float | None:
    return cache.get(f"route-cooldown:{model.credential_id}:{model.upstream_id}")


def test_a_429_falls_back_logs_the_attempt_and_cools_the_route_down(
    chat_call, groq_model, alt_model, http_mock
):
    # groq ranks first (alphabetical on equal health), answers 429, alt serves.
    http_mock.add(
        responses.POST, GROQ_CHAT, status=429, json=provider_fixture("groq/error_429.json")
    )
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    result = chat_call(AUTO)

    assert result.body["model"] == alt_model.public_id
    log = RequestLog.objects.get(pk=result.body["id"])
    assert [(a["model"], a["status"]) for a in log.attempts] == [
        (groq_model.public_id, "rate_limited"),
        (alt_model.public_id, "ok"),
    ]
    assert log.attempts[0]["http_status"] == 429
    assert log.attempts[0]["reason"].startswith("rate limited:")
    assert cooldown_until(groq_model) > time.time() + 40  # "try again in 50.6s"

    # The next auto request skips the cooling route without calling it.
    chat_call(AUTO)
    assert [c.request.url for c in http_mock.calls] == [GROQ_CHAT, ALT_CHAT, ALT_CHAT]


def test_every_candidate_rate_limited_is_429_with_the_soonest_retry_after(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={}, headers={"retry-after": "30"})
    http_mock.add(responses.POST, ALT_CHAT, status=429, json={}, headers={"retry-after": "7"})

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    error = raised.value
    assert error.status_code == 429
    assert error.code == "rate_limited_upstream"
    assert error.headers["Retry-After"] == "7"
    assert [a["status"] for a in error.extra["attempts"]] == ["rate_limited", "rate_limited"]
    log = RequestLog.objects.get(status="error")
    assert (log.http_status, log.error_code) == (429, "rate_limited_upstream")

    # Both now cool down: the next request answers 429 at once, with no upstream call.
    with pytest.raises(ApiError) as again:
        chat_call(AUTO)
    assert again.value.status_code == 429
    assert 1 <= int(again.value.headers["Retry-After"]) <= 7
    assert len(http_mock.calls) == 2


def test_retry_after_is_capped_at_60_seconds(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={}, headers={"retry-after": "3600"})

    with pytest.raises(ApiError) as raised:
        chat_call({"model": groq_model.public_id, "messages": HELLO})

    assert raised.value.headers["Retry-After"] == "60"


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=20)
def test_repeated_5xx_open_the_breaker_and_routing_skips_the_route(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, status=502, body="<html>Bad gateway</html>")
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())
    groq_first = {"model": groq_model.public_id, "models": [alt_model.public_id], "messages": HELLO}

    for _ in range(2):
        assert chat_call(groq_first).body["model"] == alt_model.public_id
    assert cooldown_until(groq_model) is None  # two failures: still closed
    chat_call(groq_first)
    assert cooldown_until(groq_model) > time.time() + 15  # until the half-open trial
    chat_call(groq_first)

    groq_calls = [c for c in http_mock.calls if c.request.url == GROQ_CHAT]
    assert len(groq_calls) == 3  # the fourth request skipped the open breaker
    health = cache.get(f"route-health:{groq_model.credential_id}:{groq_model.upstream_id}")
    assert (health["ok"], health["fail"]) == (0, 3)


def test_every_candidate_failing_is_502_upstream_error_with_sanitized_attempts(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, status=500, body="<html><body>oops</body></html>")
    http_mock.add(responses.POST, ALT_CHAT, body=requests.ConnectionError("refused"))

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    error = raised.value
    assert (error.status_code, error.code) == (502, "upstream_error")
    assert [a["status"] for a in error.extra["attempts"]] == ["upstream", "connection"]
    assert "<html>" not in str(error.extra)


def test_a_timeout_as_the_last_failure_is_504(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, body=requests.ReadTimeout("slow"))

    with pytest.raises(ApiError) as raised:
        chat_call({"model": groq_model.public_id, "messages": HELLO})

    assert (raised.value.status_code, raised.value.code) == (504, "upstream_timeout")


def test_an_upstream_400_is_returned_normalized_and_not_retried(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(
        responses.POST,
        GROQ_CHAT,
        status=400,
        json=provider_fixture("groq/error_400_tool_use_failed.json"),
    )
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    assert (raised.value.status_code, raised.value.code) == (400, "upstream_bad_request")
    assert raised.value.message.startswith("The provider rejected the request:")
    assert [c.request.url for c in http_mock.calls] == [GROQ_CHAT]


def test_an_empty_completion_falls_back(chat_call, groq_model, alt_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content=""))
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion(content="Hi!"))

    result = chat_call(AUTO)

    assert result.body["choices"][0]["message"]["content"] == "Hi!"
    log = RequestLog.objects.get(pk=result.body["id"])
    assert [a["status"] for a in log.attempts] == ["empty", "ok"]


def test_a_provider_auth_failure_falls_back_and_never_shows_the_providers_message(
    chat_call, groq_model, http_mock
):
    upstream = provider_fixture("groq/error_401.json")
    http_mock.add(responses.POST, GROQ_CHAT, status=401, json=upstream)

    with pytest.raises(ApiError) as raised:
        chat_call({"model": groq_model.public_id, "messages": HELLO})

    error = raised.value
    assert error.status_code == 502
    shown = error.message + str(error.extra)
    assert upstream["error"]["message"] not in shown
    assert "rejected its credential" in shown
    assert GROQ_KEY not in shown


@override_settings(GATEWAY_MAX_ATTEMPTS=1)
def test_attempts_are_capped(chat_call, groq_model, alt_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=503, json={})

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    assert raised.value.status_code == 502
    assert len(http_mock.calls) == 1


def test_healthier_routes_rank_first(chat_call, groq_model, alt_model, http_mock):
    # Given groq has failed twice recently (below the breaker threshold)
    http_mock.add(responses.POST, GROQ_CHAT, status=503, json={})
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())
    chat_call(AUTO)
    chat_call({"model": groq_model.public_id, "models": [alt_model.public_id], "messages": HELLO})
    calls_before = len(http_mock.calls)

    # When auto routes again, alt (healthy) is tried first.
    chat_call(AUTO)

    assert [c.request.url for c in http_mock.calls[calls_before:]] == [ALT_CHAT]


@override_settings(GATEWAY_TOTAL_DEADLINE_SECONDS=0.2)
def test_no_attempt_starts_after_the_total_deadline(chat_call, groq_model, alt_model, http_mock):
    def slow_failure(request):
        time.sleep(0.3)
        return (503, {}, "{}")

    http_mock.add_callback(responses.POST, GROQ_CHAT, callback=slow_failure)
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    assert (raised.value.status_code, raised.value.code) == (504, "upstream_timeout")
    assert [c.request.url for c in http_mock.calls] == [GROQ_CHAT]

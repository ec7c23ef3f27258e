"""Hold briefly instead of refusing: a request waits for the earliest route to free up within
GATEWAY_MAX_QUEUE_SECONDS, bounded per process; past the bound an honest 429. No real waits:
the sleep is replaced, and a cooldown's end is what its key's expiry does."""

import time

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from gateway.routing import hold
from gateway.routing.candidates import RoutesCooling
from gateway.routing.cooldowns import route_cool_down
from tests.gateway.conftest import GROQ_CHAT, HELLO, groq_completion

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}


class FakeClock:
    def __init__(self) -> None:
        self.now = time.monotonic()  # requests start on the real monotonic clock
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(hold, "_sleep", fake.sleep)
    monkeypatch.setattr(hold, "_clock", fake)
    return fake


def cooling_then(result, wait: float, times: int = 1):
    calls = []

    def plan():
        calls.append(1)
        if len(calls) <= times:
            raise RoutesCooling(time.time() + wait)
        return result

    return plan


@override_settings(GATEWAY_MAX_QUEUE_SECONDS=5)
def test_a_request_waits_for_a_route_that_frees_up_within_the_bound(clock):
    result, waited = hold.held(cooling_then("served", 2), started=clock.now)

    assert result == "served"
    assert waited == pytest.approx(2, abs=0.1)
    assert clock.slept == [pytest.approx(2, abs=0.1)]


@pytest.mark.parametrize(
    ("settings_", "wait"),
    [
        ({"GATEWAY_MAX_QUEUE_SECONDS": 5}, 30),  # frees up too late
        ({"GATEWAY_MAX_QUEUE_SECONDS": 0}, 1),  # holding is off
        ({"GATEWAY_MAX_QUEUE_SECONDS": 5, "GATEWAY_MAX_QUEUED_REQUESTS": 0}, 1),  # no waiter slot
    ],
)
def test_past_the_bound_the_request_is_refused_at_once(clock, settings_, wait):
    with override_settings(**settings_), pytest.raises(RoutesCooling):
        hold.held(cooling_then("served", wait), started=clock.now)

    assert clock.slept == []


@override_settings(GATEWAY_MAX_QUEUE_SECONDS=5)
def test_the_bound_counts_from_the_request_start_across_waits(clock):
    with pytest.raises(RoutesCooling) as refused:
        hold.held(cooling_then("served", 2, times=5), started=clock.now)

    assert len(clock.slept) == 2  # 2 s + 2 s; a third wait would end past 5 s
    assert refused.value.waited == pytest.approx(4, abs=0.2)


@override_settings(GATEWAY_MAX_QUEUE_SECONDS=5)
def test_a_held_request_is_served_when_its_route_frees_up(
    chat_call, groq_model, http_mock, monkeypatch
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    key = f"route-cooldown:{groq_model.credential_id}:{groq_model.upstream_id}"
    route_cool_down((groq_model.credential_id, groq_model.upstream_id), 2)
    monkeypatch.setattr(hold, "_sleep", lambda seconds: cache.delete(key))  # the cooldown ends

    result = chat_call(AUTO)

    assert result.body["model"] == groq_model.public_id
    log = RequestLog.objects.get(pk=result.body["id"])
    assert [a["status"] for a in log.attempts] == ["held", "ok"]


@override_settings(GATEWAY_MAX_QUEUE_SECONDS=5)
def test_a_request_held_then_refused_is_logged_once_with_its_wait(chat_call, groq_model, clock):
    route_cool_down((groq_model.credential_id, groq_model.upstream_id), 3)

    with pytest.raises(ApiError) as raised:
        chat_call(AUTO)

    error = raised.value
    assert (error.status_code, error.code) == (429, "rate_limited_upstream")
    assert 1 <= int(error.headers["Retry-After"]) <= 3
    assert int(error.headers["x-ratelimit-reset"]) >= time.time()
    assert "frees up at" in error.message
    (log,) = RequestLog.objects.all()
    assert [a["status"] for a in log.attempts] == ["held"]
    assert log.attempts[0]["ms"] >= 1000

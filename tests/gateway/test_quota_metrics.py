"""The quota metrics move: upstream 429s by kind, requests held (and how long), routes skipped
for a spent budget."""

import time

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings

from gateway.routing import hold
from gateway.routing.cooldowns import route_cool_down, route_record_failure
from gateway.routing.quota import quota_reserve
from providers.errors import error_for_status
from providers.ratelimits import read_rate_limits
from tests.conftest import provider_fixture
from tests.gateway.conftest import ALT_CHAT, GROQ_CHAT, HELLO, groq_completion
from tests.metrics_support import METRICS_TOKEN, sample, scrape

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}


@pytest.fixture
def moved(settings, client):
    """moved(name, **labels) -> how far the sample moved since the fixture was set up."""
    settings.OPENPROVIDER_METRICS_TOKEN = METRICS_TOKEN
    before = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(scrape(client), name, **labels) - sample(before, name, **labels)

    return delta


def a_429(headers=None, body=None):
    now = time.time()
    hints = read_rate_limits(headers or {}, body, now=now)
    return error_for_status(429, "rate limited", retry_after=hints.retry_after(now), hints=hints)


@override_settings(GATEWAY_BARE_429_PARK_AFTER=2)
def test_upstream_429s_are_counted_by_kind(moved):
    per_day = provider_fixture("openrouter/error_429_free_models_per_day_high_balance.json")
    route_record_failure((1, "a"), a_429({"retry-after": "20"}))
    route_record_failure((1, "b"), a_429(body=per_day))
    route_record_failure((1, "c"), a_429())
    route_record_failure((1, "c"), a_429())  # the second bare 429 in a row parks it

    name = "openprovider_upstream_rate_limits_total"
    assert [moved(name, kind=kind) for kind in ("minute", "day", "unknown", "parked")] == [
        1,
        1,
        1,
        1,
    ]


@override_settings(GATEWAY_MAX_QUEUE_SECONDS=5)
def test_a_held_request_is_measured_with_its_outcome(
    moved, chat_call, groq_model, http_mock, monkeypatch
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    key = f"route-cooldown:{groq_model.credential_id}:{groq_model.upstream_id}"
    route_cool_down((groq_model.credential_id, groq_model.upstream_id), 2)
    monkeypatch.setattr(hold, "_sleep", lambda seconds: cache.delete(key))  # the cooldown ends

    chat_call(AUTO)

    assert moved("openprovider_requests_held_seconds_count", outcome="served") == 1
    assert moved("openprovider_requests_held_seconds_sum", outcome="served") > 0


def test_a_route_skipped_for_its_spent_budget_is_counted(
    moved, chat_call, groq_model, alt_model, http_mock
):
    alt_model.credential.limits = {"rpm": 1}
    alt_model.credential.save()
    quota_reserve(alt_model)
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    chat_call({**AUTO, "model": alt_model.public_id, "models": [groq_model.public_id]})

    assert moved("openprovider_routes_skipped_for_budget_total") == 1
    assert ALT_CHAT not in [call.request.url for call in http_mock.calls]

"""Even spending in auto-free: the most budget left (against the budget that binds first)
goes first, day-bound routes wait behind minute-bound ones, a never-tried route gets a call."""

import pytest
from django.core.cache import cache

from gateway.api.chat_request import parse_chat_request
from gateway.routing.candidates import ranked, route_of
from gateway.routing.quota import quota_record_hints, quota_reserve, spending_order
from providers.ratelimits import read_rate_limits
from tests.gateway.conftest import HELLO

pytestmark = pytest.mark.django_db

REQUEST = parse_chat_request({"model": "openprovider/auto-free", "messages": HELLO})


@pytest.mark.parametrize(
    ("shares", "order"),
    [
        ({}, (0, -1.0)),
        ({"minute": 0.2, "day": 0.9}, (0, -0.2)),  # bound by the minute: renews soon
        ({"minute": 0.9, "day": 0.1}, (1, -0.1)),  # bound by the day: keep for last
        ({"minute": 0.5, "day": 0.5}, (1, -0.5)),  # a tie binds by the day
    ],
)
def test_the_budget_that_binds_first_decides(shares, order):
    assert spending_order(shares) == order


def test_the_route_with_more_of_its_minute_left_goes_first(groq_model, alt_model):
    alt_model.credential.limits = {"rpm": 10}
    groq_model.credential.limits = {"rpm": 10, "rpd": 10_000}
    for _ in range(6):
        quota_reserve(groq_model)

    assert ranked([groq_model, alt_model], REQUEST) == [alt_model, groq_model]


def test_a_day_bound_route_waits_behind_minute_bound_ones(groq_model, alt_model):
    # Groq says 12 of 1,000 requests are left today; alt has no known limit.
    headers = {"x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "12"}
    quota_record_hints(groq_model, read_rate_limits(headers, requests_window="day"))

    assert ranked([groq_model, alt_model], REQUEST) == [alt_model, groq_model]


def test_a_never_tried_route_is_not_ranked_behind_tried_ones(groq_model, alt_model):
    alt_route = route_of(alt_model)
    cache.set(
        f"route-health:{alt_route[0]}:{alt_route[1]}", {"ok": 9, "fail": 0, "latency_ms": 300.0}
    )

    assert ranked([alt_model, groq_model], REQUEST)[0] == groq_model

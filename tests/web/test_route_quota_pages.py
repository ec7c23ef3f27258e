"""Each route's budget and state in words on the Models and Provider setup pages."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings

from catalog.route_health import cooldown_key
from gateway.routing.cooldowns import route_record_failure
from gateway.routing.quota import quota_reserve
from gateway.web.route_quota import quota_words
from providers.errors import ProviderError
from tests.catalog.factories import make_credential, seed_model

pytestmark = pytest.mark.django_db

TODAY = datetime.now(UTC).replace(microsecond=0)
SOON = TODAY + timedelta(seconds=47)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def clock(when: datetime) -> str:
    return when.strftime("%H:%M:%S")


def quota(state="ok", **fields):
    return {"state": state, "until": None, "kind": None, "reason": None, "shared": False, **fields}


MIDNIGHT = (TODAY + timedelta(days=1)).replace(hour=0, minute=0, second=0)


@pytest.mark.parametrize(
    ("given", "lines"),
    [
        (quota(), []),
        (
            quota(day={"limit": 50, "remaining": 12, "resets_at": iso(MIDNIGHT)}),
            ["12 of 50 left today, resets 00:00 UTC"],
        ),
        (
            quota("cooling", until=iso(SOON), kind="minute"),
            [f"cooling until {clock(SOON)} UTC (minute limit)"],
        ),
        (
            quota("cooling", until=iso(MIDNIGHT), kind="day"),
            ["cooling until 00:00 UTC (day limit)"],
        ),
        (
            quota("parked", until=iso(SOON), kind="day"),
            [f"parked until {clock(SOON)} UTC: repeated bare 429s, the day budget looks spent"],
        ),
        (
            quota("breaker_open", until=iso(SOON), reason="connection refused"),
            [f"upstream failing (connection refused): next try at {clock(SOON)} UTC"],
        ),
        (quota("auth_failed"), ["the key failed authentication"]),
        (
            quota(shared=True, minute={"limit": 20, "remaining": 19, "resets_at": None}),
            ["19 of 20 left this minute", "shared by every model of this key"],
        ),
        (
            quota(tokens_minute={"limit": 8000, "remaining": None, "resets_at": None}),
            ["limit 8000 tokens this minute"],
        ),
    ],
)
def test_a_quota_in_words(given, lines):
    assert quota_words(given) == {"state": given["state"], "lines": lines}


@pytest.fixture
def groq(workspace):
    return make_credential(workspace, "groq")


@pytest.fixture
def groq_model(groq):
    return seed_model(groq, "llama-3.1-8b-instant")


def test_the_models_page_shows_each_models_budget_left(client_in, groq_model):
    quota_reserve(groq_model)

    page = client_in.get("/models/").content.decode()

    assert 'data-testid="model-quota"' in page
    assert "29 of 30 left this minute, resets" in page
    assert "999 of 1000 left today, resets 00:00 UTC" in page


def test_the_models_page_shows_a_route_cooling_until_when_and_why(client_in, groq_model):
    until = time.time() + 40
    cache.set(cooldown_key(groq_model.credential_id, groq_model.upstream_id), until, 40)

    page = client_in.get("/models/").content.decode()

    when = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S")
    assert f"cooling until {when} UTC (minute limit)" in page


def test_a_custom_server_without_limits_says_so(client_in, text_model):
    page = client_in.get("/models/").content.decode()

    assert "no known limits" in page


@override_settings(GATEWAY_BREAKER_THRESHOLD=1, GATEWAY_BREAKER_TRIAL_SECONDS=5)
def test_the_provider_page_lists_each_keys_routes_with_those_not_available_first(
    client_in, groq, groq_model
):
    other = seed_model(groq, "gemma2-9b-it")
    refused = ProviderError("connection refused", kind="connection", retryable=True)
    route_record_failure((other.credential_id, other.upstream_id), refused)

    page = client_in.get("/account/providers/").content.decode()

    routes = page[page.index(f'data-testid="credential-routes-{groq.pk}"') :]
    assert "(1 of 2 models not available now)" in routes
    assert routes.index("groq/gemma2-9b-it") < routes.index("groq/llama-3.1-8b-instant")
    assert "upstream failing (connection refused): next try at" in routes
    assert "30 of 30 left this minute" in routes


def test_a_key_that_failed_authentication_shows_on_its_routes(client_in, groq, groq_model):
    groq.state = "auth_failed"
    groq.save()

    page = client_in.get("/account/providers/").content.decode()

    assert "the key failed authentication" in page

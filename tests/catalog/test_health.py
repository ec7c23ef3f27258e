"""Model health: the credential state and the gateway's cooldown keys decide `working`."""

import time

import pytest
from django.core.cache import cache

from catalog.route_health import (
    cooldown_key,
    cooling_routes,
    health_key,
    model_working,
    route_health,
)
from providers.models import ProviderCredential
from tests.catalog.factories import seed_model


@pytest.fixture
def model(custom_credential):
    return seed_model(custom_credential, "llama")


def test_a_model_of_a_healthy_credential_is_working(model):
    assert model_working(model) is True


def test_key_formats_are_the_documented_ones():
    assert cooldown_key(7, "meta/llama:free") == "route-cooldown:7:meta/llama:free"
    assert health_key(7, "meta/llama:free") == "route-health:7:meta/llama:free"


def test_a_cooling_route_is_not_working_until_the_cooldown_passes(model):
    cache.set(cooldown_key(model.credential_id, "llama"), time.time() + 60, 60)
    assert model_working(model) is False

    cache.set(cooldown_key(model.credential_id, "llama"), time.time() - 1, 60)
    assert model_working(model) is True


@pytest.mark.parametrize(
    ("state", "working"),
    [
        ("ok", True),
        ("unknown", True),
        ("rate_limited", True),
        ("auth_failed", False),
        ("down", False),
        ("unreadable", False),
    ],
)
def test_a_broken_credential_state_makes_its_models_not_working(model, state, working):
    ProviderCredential.objects.filter(pk=model.credential_id).update(state=state)
    model.credential.refresh_from_db()

    assert model_working(model) is working


def test_an_inactive_model_is_not_working(model):
    model.is_active = False

    assert model_working(model) is False


def test_cooling_routes_reads_many_routes_and_ignores_junk_values():
    cache.set(cooldown_key(1, "a"), time.time() + 60, 60)
    cache.set(cooldown_key(1, "b"), "not a time", 60)
    cache.set(cooldown_key(2, "a"), time.time() + 60, 60)

    assert cooling_routes([(1, "a"), (1, "b"), (1, "c"), (2, "a")]) == {(1, "a"), (2, "a")}
    assert cooling_routes([]) == set()


def test_route_health_reads_the_gateway_stats_with_defaults():
    cache.set(health_key(3, "m"), {"ok": 5, "fail": 1, "latency_ms": 120.5}, 60)
    cache.set(health_key(3, "junk"), "garbage", 60)

    assert route_health(3, "m") == {"ok": 5, "fail": 1, "latency_ms": 120.5}
    assert route_health(3, "junk") == {"ok": 0, "fail": 0, "latency_ms": 0.0}
    assert route_health(3, "missing") == {"ok": 0, "fail": 0, "latency_ms": 0.0}

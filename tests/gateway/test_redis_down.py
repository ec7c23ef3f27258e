"""Redis down (a real Redis URL on a closed loopback port): keys still authenticate from the
database, the rate limiter fails closed with 503, web pages keep loading."""

import socket

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down():
    """The project's Redis cache settings, pointed at a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caches = {
        "default": {
            "BACKEND": "config.infra.redis_pool.SharedRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": settings.CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_timeout": 1,
                "socket_connect_timeout": 1,
                "pool_class": "config.infra.redis_pool.SharedBlockingConnectionPool",
                "max_connections": 8,
                "timeout": 1,
            },
        }
    }
    with override_settings(CACHES=caches):
        yield


def test_chat_is_refused_with_503_rate_limiter_unavailable(api_client, redis_down):
    response = api_client.post(
        "/v1/chat/completions",
        {"model": "any/model", "messages": [{"role": "user", "content": "hi"}]},
        format="json",
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "rate_limiter_unavailable"
    assert response["Retry-After"] == "1"


def test_key_authentication_falls_back_to_the_database(api_client, created_key, redis_down):
    response = api_client.get("/v1/key")

    assert response.status_code == 200
    assert response.json()["prefix"] == created_key.api_key.prefix


def test_a_wrong_key_is_still_refused(client, redis_down):
    response = client.get("/v1/key", HTTP_AUTHORIZATION="Bearer opk_live_" + "x" * 43)

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/", "/docs/", "/account/signin/"])
def test_web_pages_keep_loading(client, redis_down, path):
    assert client.get(path).status_code == 200


def test_signed_in_pages_keep_loading(client, user, redis_down):
    client.force_login(user)

    assert client.get("/account/").status_code == 200


@pytest.fixture
def listed_model(workspace):
    """Saved before the outage (a credential save announces itself in the cache)."""
    from tests.gateway.conftest import make_credential, make_model

    return make_model(make_credential(workspace, "groq", "groq"), "llama-3.1-8b-instant")


def test_the_model_list_is_rendered_from_the_database(api_client, listed_model, redis_down):
    response = api_client.get("/v1/models")

    assert response.status_code == 200
    entries = {entry["id"]: entry for entry in response.json()["data"]}
    assert entries[listed_model.public_id]["working"] is True  # no cooldown can be read


def test_one_model_and_the_provider_status_still_answer(api_client, listed_model, redis_down):
    assert api_client.get(f"/v1/models/{listed_model.public_id}").status_code == 200
    assert api_client.get("/v1/providers/status").status_code == 200

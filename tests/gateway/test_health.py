"""GET /healthz: 200 when the database, cache and broker answer; 503 naming what is down."""

import time

import pytest
from django.test import override_settings

from gateway import liveness as health

UNREACHABLE_REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }
}


def _fail() -> None:
    raise ConnectionError("refused by 10.0.0.7:6379 with password hunter2")


def test_healthz_is_200_when_every_part_is_up(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "down": [],
        "parts": {"database": "ok", "cache": "ok", "broker": "ok"},
    }
    assert response["x-request-id"].startswith("gen-")


@pytest.mark.parametrize("part", ["database", "cache", "broker"])
def test_healthz_is_503_naming_the_part_that_is_down(client, db, monkeypatch, part):
    monkeypatch.setitem(health.CHECKS, part, _fail)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == [part]
    assert body["parts"][part] == "down"
    assert "hunter2" not in response.content.decode()
    assert "10.0.0.7" not in response.content.decode()


def test_healthz_names_every_part_that_is_down(client, db, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "database", _fail)
    monkeypatch.setitem(health.CHECKS, "broker", _fail)

    body = client.get("/healthz").json()

    assert body["down"] == ["database", "broker"]


def test_healthz_is_503_when_the_redis_cache_is_unreachable(client, db):
    started = time.monotonic()
    with override_settings(CACHES=UNREACHABLE_REDIS_CACHE):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert "cache" in response.json()["down"]
    assert time.monotonic() - started < 10


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405

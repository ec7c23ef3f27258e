"""A saturated DB or Redis pool, or a database that is down, answers 503 with Retry-After."""

import pytest
import redis
from django.db import OperationalError
from psycopg_pool import PoolTimeout

from tests.gateway.conftest import HELLO

pytestmark = pytest.mark.django_db


def raising(error: Exception):
    def call(*args, **kwargs):
        raise error

    return call


def db_pool_timeout() -> Exception:
    try:
        try:
            raise PoolTimeout("couldn't get a connection after 30.00 sec")
        except PoolTimeout as cause:
            raise OperationalError(str(cause)) from cause
    except OperationalError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "code", "retry_after"),
    [
        (db_pool_timeout(), "server_busy", "1"),
        (redis.exceptions.ConnectionError("No connection available."), "server_busy", "1"),
        (OperationalError("connection refused"), "database_unavailable", "5"),
    ],
    ids=["db pool timeout", "redis pool exhausted", "database down"],
)
def test_chat_answers_503_envelope(api_client, groq_model, monkeypatch, error, code, retry_after):
    monkeypatch.setattr("gateway.routing.candidates.exact_models", raising(error))

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )

    assert response.status_code == 503
    body = response.json()["error"]
    assert body["code"] == code
    assert "30.00" not in body["message"]
    assert response["Retry-After"] == retry_after

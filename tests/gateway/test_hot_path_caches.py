"""The per-process route and key caches: changes are seen at once, or within their short TTL."""

import time

import pytest
import responses
from django.core.cache import cache

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from catalog.models import CatalogModel
from catalog.services import catalog_invalidate
from tests.gateway.conftest import GROQ_CHAT, HELLO, groq_completion

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The local caches' clock, moved forward by hand instead of waiting."""
    now = [time.monotonic()]
    monkeypatch.setattr("config.infra.localcache.time.monotonic", lambda: now[0])
    return now


def chat(api_client, model: str):
    return api_client.post(
        "/v1/chat/completions", {"model": model, "messages": HELLO}, format="json"
    )


def test_a_warm_request_reads_no_model_and_no_key(api_client, groq_model, http_mock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    assert chat(api_client, groq_model.public_id).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert chat(api_client, groq_model.public_id).status_code == 200

    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "catalog_catalogmodel" not in tables
    assert "accounts_apikey" not in tables
    assert "gateway_requestlog" in tables  # written inline in tests (write-behind in production)


def test_a_model_deactivated_by_a_sync_is_refused_at_once(api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    assert chat(api_client, groq_model.public_id).status_code == 200

    CatalogModel.objects.filter(pk=groq_model.pk).update(is_active=False)
    catalog_invalidate(groq_model.workspace_id)  # what a sync or an admin edit does

    assert chat(api_client, groq_model.public_id).status_code == 404


def test_a_change_that_bumps_no_version_is_seen_within_the_ttl(
    api_client, groq_model, http_mock, clock, settings
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    assert chat(api_client, groq_model.public_id).status_code == 200
    groq_model.credential.__class__.objects.filter(pk=groq_model.credential_id).update(
        enabled=False
    )

    assert chat(api_client, groq_model.public_id).status_code == 200  # cached, within the TTL
    clock[0] += settings.GATEWAY_ROUTE_CACHE_SECONDS + 0.1
    assert chat(api_client, groq_model.public_id).status_code == 404


def test_a_revoked_key_is_refused_at_once_in_the_process_that_revoked_it(api_client, created_key):
    assert api_client.get("/v1/key").status_code == 200

    api_key_revoke(api_key=created_key.api_key)

    assert api_client.get("/v1/key").status_code == 401


def test_a_key_revoked_on_another_node_is_refused_on_the_next_request_by_default(
    api_client, created_key
):
    assert api_client.get("/v1/key").status_code == 200
    # Another node revoked it: the database and the shared cache changed, not this process.
    ApiKey.objects.filter(pk=created_key.api_key.pk).update(revoked_at="2026-11-27T00:00:00Z")
    cache.clear()

    assert api_client.get("/v1/key").status_code == 401


def test_with_a_local_key_cache_another_nodes_revocation_holds_within_its_ttl(
    api_client, created_key, clock, settings
):
    settings.API_KEY_LOCAL_CACHE_SECONDS = 2.0
    assert api_client.get("/v1/key").status_code == 200
    # Another node revoked it: the database and the shared cache changed, not this process.
    ApiKey.objects.filter(pk=created_key.api_key.pk).update(revoked_at="2026-11-27T00:00:00Z")
    cache.clear()

    assert api_client.get("/v1/key").status_code == 200  # this process's copy, for ≤ 2 s
    clock[0] += settings.API_KEY_LOCAL_CACHE_SECONDS + 0.1
    assert api_client.get("/v1/key").status_code == 401

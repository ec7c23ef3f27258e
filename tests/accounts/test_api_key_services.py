"""OpenProvider API keys: creation, hashing, the auth cache, last-used and revocation."""

import base64
import hashlib
import uuid

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey
from accounts.services import (
    api_key_authenticate,
    api_key_create,
    api_key_forget,
    api_key_revoke,
    workspace_keys_forget,
)


def test_a_new_key_is_opk_live_and_32_random_url_safe_bytes(workspace):
    created = api_key_create(workspace=workspace, name="app")

    assert created.plaintext.startswith("opk_live_")
    secret = created.plaintext.removeprefix("opk_live_")
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert created.plaintext != api_key_create(workspace=workspace, name="app").plaintext


def test_only_the_sha256_and_a_display_prefix_are_stored(workspace):
    created = api_key_create(workspace=workspace, name="app")

    stored = ApiKey.objects.get(pk=created.api_key.pk)
    assert stored.key_hash == hashlib.sha256(created.plaintext.encode()).hexdigest()
    assert created.plaintext.startswith(stored.prefix)
    assert len(stored.prefix) == len("opk_live_") + 8
    assert created.plaintext not in {stored.name, stored.prefix, stored.key_hash}


def test_a_blank_name_becomes_default_key(workspace):
    assert api_key_create(workspace=workspace, name="  ").api_key.name == "Default key"


def test_authenticate_returns_the_key_and_its_workspace(created_key, workspace):
    api_key = api_key_authenticate(created_key.plaintext)

    assert api_key.pk == created_key.api_key.pk
    assert api_key.workspace == workspace


def test_a_warm_cache_answers_without_a_query(created_key):
    api_key_authenticate(created_key.plaintext)

    with CaptureQueriesContext(connection) as queries:
        assert api_key_authenticate(created_key.plaintext) is not None

    assert len(queries) == 0


def test_last_used_is_written_once_per_resolution_window(created_key, settings):
    settings.API_KEY_LAST_USED_RESOLUTION_SECONDS = 60
    assert created_key.api_key.last_used_at is None

    api_key_authenticate(created_key.plaintext)
    first = ApiKey.objects.get(pk=created_key.api_key.pk).last_used_at
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            api_key_authenticate(created_key.plaintext)

    assert first is not None
    assert len(queries) == 0
    assert ApiKey.objects.get(pk=created_key.api_key.pk).last_used_at == first


def test_last_used_is_a_single_update_of_one_column(created_key):
    with CaptureQueriesContext(connection) as queries:
        api_key_authenticate(created_key.plaintext)

    updates = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    assert "last_used_at" in updates[0]
    assert "name" not in updates[0].split("WHERE")[0]


def test_revocation_applies_on_the_next_call_even_with_the_cache_warm(created_key):
    assert api_key_authenticate(created_key.plaintext) is not None

    api_key_revoke(api_key=ApiKey.objects.get(pk=created_key.api_key.pk))

    assert api_key_authenticate(created_key.plaintext) is None
    assert ApiKey.objects.get(pk=created_key.api_key.pk).revoked_at is not None


def test_revoking_twice_keeps_the_first_revocation_time(created_key):
    first = api_key_revoke(api_key=created_key.api_key).revoked_at

    again = api_key_revoke(api_key=ApiKey.objects.get(pk=created_key.api_key.pk))

    assert again.revoked_at == first


def test_forget_makes_new_limits_visible_at_once(created_key):
    assert api_key_authenticate(created_key.plaintext).rpm_limit is None
    ApiKey.objects.filter(pk=created_key.api_key.pk).update(rpm_limit=7)
    assert api_key_authenticate(created_key.plaintext).rpm_limit is None  # still cached

    api_key_forget(api_key=created_key.api_key)

    assert api_key_authenticate(created_key.plaintext).requests_per_minute == 7


def test_a_deactivated_workspace_keys_stop_once_forgotten(created_key, workspace):
    api_key_authenticate(created_key.plaintext)
    workspace.is_active = False
    workspace.save()

    workspace_keys_forget(workspace=workspace)

    assert api_key_authenticate(created_key.plaintext) is None


def test_keys_with_the_same_prefix_resolve_to_their_own_workspaces(workspace, other_user):
    mine = api_key_create(workspace=workspace, name="mine")
    theirs = api_key_create(workspace=other_user.workspace, name="theirs")
    # Same display prefix, different secret: must not collide in the cache or the lookup.
    forged = mine.plaintext[:17] + theirs.plaintext[17:]

    assert api_key_authenticate(mine.plaintext).workspace == workspace
    assert api_key_authenticate(theirs.plaintext).workspace == other_user.workspace
    assert api_key_authenticate(forged) is None


def _revoking_during_the_database_read(monkeypatch, api_key: ApiKey) -> None:
    """Make the next DB lookup of the key return it and then revoke it before returning."""
    from accounts import services

    read = services._database_lookup

    def read_then_revoke(key_hash):
        found = read(key_hash)
        monkeypatch.setattr(services, "_database_lookup", read)  # only once
        api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
        return found

    monkeypatch.setattr(services, "_database_lookup", read_then_revoke)


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def auth_cache(request):
    """The in-process cache, and a real Redis (its `add` is SET NX)."""
    if request.param == "locmem":
        yield
        return
    from tests.gateway.test_chat_ratelimit import redis_caches

    with override_settings(CACHES=redis_caches(f"auth-test-{uuid.uuid4().hex}")):
        yield
        caches["default"].clear()


def test_a_lookup_that_read_the_key_before_a_revoke_does_not_cache_it_after(
    auth_cache, created_key, monkeypatch
):
    _revoking_during_the_database_read(monkeypatch, created_key.api_key)

    assert api_key_authenticate(created_key.plaintext) is not None  # read before the revoke

    with CaptureQueriesContext(connection) as queries:
        assert api_key_authenticate(created_key.plaintext) is None
    assert len(queries) == 0  # refused by the revocation marker, not by a fresh query


def test_the_per_process_copy_is_not_written_back_after_a_revoke(
    created_key, monkeypatch, settings
):
    settings.API_KEY_LOCAL_CACHE_SECONDS = 60
    _revoking_during_the_database_read(monkeypatch, created_key.api_key)

    assert api_key_authenticate(created_key.plaintext) is not None

    assert api_key_authenticate(created_key.plaintext) is None


def test_a_lookup_that_read_old_limits_before_a_change_does_not_cache_them(
    created_key, monkeypatch
):
    from accounts import services

    read = services._database_lookup

    def read_then_change(key_hash):
        found = read(key_hash)
        monkeypatch.setattr(services, "_database_lookup", read)
        ApiKey.objects.filter(pk=created_key.api_key.pk).update(rpm_limit=7)
        api_key_forget(api_key=created_key.api_key)
        return found

    monkeypatch.setattr(services, "_database_lookup", read_then_change)
    assert api_key_authenticate(created_key.plaintext).rpm_limit is None

    assert api_key_authenticate(created_key.plaintext).requests_per_minute == 7


def test_an_unknown_key_is_refused_from_the_negative_cache(auth_cache, db):
    unknown = "opk_live_" + "u" * 43
    assert api_key_authenticate(unknown) is None

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert api_key_authenticate(unknown) is None

    assert len(queries) == 0


def test_a_key_created_after_a_refusal_of_its_plaintext_works_at_once(
    auth_cache, workspace, monkeypatch
):
    secret = "n" * 43
    assert api_key_authenticate("opk_live_" + secret) is None  # now negatively cached
    monkeypatch.setattr("accounts.services.secrets.token_urlsafe", lambda size: secret)

    created = api_key_create(workspace=workspace, name="late")

    assert created.plaintext == "opk_live_" + secret
    assert api_key_authenticate(created.plaintext).pk == created.api_key.pk

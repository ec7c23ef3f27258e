"""The cached /v1/models body: versioned per workspace, short-lived, one renderer at a time."""

import json
import time

from django.core.cache import cache

from catalog.listing_cache import _LocalBodies, catalog_listing_json, catalog_version
from catalog.route_health import cooldown_key
from catalog.selectors import catalog_listing
from catalog.services import catalog_invalidate
from providers.models import ProviderCredential
from tests.catalog.factories import seed_model


def working_of(workspace_id: int) -> dict[str, bool]:
    body = catalog_listing_json(
        workspace_id=workspace_id, category=None, provider=None, working=None
    )
    return {entry["id"]: entry["working"] for entry in json.loads(body)["data"]}


def listed(workspace_id: int) -> list[str]:
    body = catalog_listing_json(
        workspace_id=workspace_id, category=None, provider=None, working=None
    )
    return [entry["id"] for entry in json.loads(body)["data"]]


def test_the_cache_key_holds_the_workspace_and_a_bump_invalidates(custom_credential, other_user):
    workspace_id = custom_credential.workspace_id
    seed_model(custom_credential, "a")
    assert listed(workspace_id) == ["openprovider/auto-free", "homelab/a"]
    seed_model(custom_credential, "b")
    assert listed(workspace_id) == ["openprovider/auto-free", "homelab/a"]  # still cached
    assert listed(other_user.workspace.pk) == ["openprovider/auto-free"]

    catalog_invalidate(workspace_id)

    assert listed(workspace_id) == ["openprovider/auto-free", "homelab/a", "homelab/b"]


def test_a_stale_body_is_served_while_another_request_renders(custom_credential, monkeypatch):
    monkeypatch.setattr("catalog.listing_cache.LISTING_TTL_SECONDS", -1)  # always stale
    workspace_id = custom_credential.workspace_id
    seed_model(custom_credential, "a")
    assert working_of(workspace_id) == {"openprovider/auto-free": True, "homelab/a": True}
    cache.set(cooldown_key(custom_credential.pk, "a"), time.time() + 60, 60)
    key = f"catalog-listing:{workspace_id}:{catalog_version(workspace_id)}:::None"
    cache.add(f"{key}:rendering", 1, 10)

    assert working_of(workspace_id)["homelab/a"] is True

    cache.delete(f"{key}:rendering")
    assert working_of(workspace_id) == {"openprovider/auto-free": False, "homelab/a": False}


def test_new_models_appear_with_the_next_version_not_before(custom_credential, monkeypatch):
    monkeypatch.setattr("catalog.listing_cache.LISTING_TTL_SECONDS", -1)
    workspace_id = custom_credential.workspace_id
    seed_model(custom_credential, "a")
    listed(workspace_id)
    seed_model(custom_credential, "b")  # written without a sync: no version bump

    assert listed(workspace_id) == ["openprovider/auto-free", "homelab/a"]

    catalog_invalidate(workspace_id)
    assert listed(workspace_id) == ["openprovider/auto-free", "homelab/a", "homelab/b"]


def test_an_evicted_version_restarts_at_a_fresh_value(workspace):
    before = catalog_version(workspace.pk)
    cache.delete(f"catalog-version:{workspace.pk}")

    assert catalog_version(workspace.pk) != before


def test_credential_changes_without_a_bump_show_at_the_next_render(custom_credential, monkeypatch):
    monkeypatch.setattr("catalog.listing_cache.LISTING_TTL_SECONDS", -1)
    workspace_id = custom_credential.workspace_id
    seed_model(custom_credential, "a")
    assert working_of(workspace_id)["homelab/a"] is True

    ProviderCredential.objects.filter(pk=custom_credential.pk).update(state="auth_failed")
    assert working_of(workspace_id)["homelab/a"] is False

    ProviderCredential.objects.filter(pk=custom_credential.pk).update(enabled=False)
    assert listed(workspace_id) == ["openprovider/auto-free"]


def test_the_per_process_copy_is_bounded_and_evicts_the_least_recently_used():
    bodies = _LocalBodies(max_bytes=10)
    bodies.put("a", (1.0, b"aaaa"))
    bodies.put("b", (1.0, b"bbbb"))
    bodies.get("a")

    bodies.put("c", (1.0, b"cccc"))

    assert bodies.get("b") is None
    assert bodies.get("a") == (1.0, b"aaaa")
    assert bodies.get("c") == (1.0, b"cccc")
    assert bodies.size == 8


def test_the_dict_listing_matches_the_cached_json(custom_credential):
    seed_model(custom_credential, "a", category="vision", capabilities={"vision": True})
    seed_model(custom_credential, "b")
    cache.set(cooldown_key(custom_credential.pk, "b"), time.time() + 60, 60)
    workspace_id = custom_credential.workspace_id

    for filters in ({}, {"category": "vision"}, {"working": False}, {"provider": "openprovider"}):
        full = {"category": None, "provider": None, "working": None, **filters}
        body = catalog_listing_json(workspace_id=workspace_id, **full)

        assert catalog_listing(workspace_id=workspace_id, **filters) == json.loads(body)["data"]

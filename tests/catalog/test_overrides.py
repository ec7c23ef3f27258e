"""Operator overrides: set in the admin, kept by every sync, effective in SQL-filtered reads."""

import pytest
from django.core.exceptions import ValidationError

from catalog.listing_cache import catalog_listing_json, catalog_version
from catalog.models import CatalogModel
from catalog.overrides import clean_overrides
from catalog.services import catalog_model_override, catalog_sync
from tests.catalog.factories import free

CHANGE_URL = "/admin/catalog/catalogmodel/{}/change/"


@pytest.fixture
def synced(stub_adapter, custom_credential) -> CatalogModel:
    stub_adapter.models = [
        free("llama", context_length=8192, capabilities={"tools": False, "streaming": True})
    ]
    catalog_sync(credential=custom_credential)
    return CatalogModel.objects.get(upstream_id="llama")


def admin_override(admin_client, model: CatalogModel, **fields) -> None:
    data = {
        "hidden": "",
        "override_category": "",
        "override_context_length": "",
        "override_max_output_tokens": "",
        "override_tools": "",
        "override_vision": "",
        "override_structured_output": "",
        "override_streaming": "",
        **fields,
    }
    response = admin_client.post(CHANGE_URL.format(model.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_admin_overrides_change_the_effective_values_and_drop_cached_listings(admin_client, synced):
    version = catalog_version(synced.workspace_id)

    admin_override(
        admin_client,
        synced,
        override_category="vision",
        override_context_length="32768",
        override_tools="yes",
        override_structured_output="unknown",
    )

    synced.refresh_from_db()
    assert synced.category == "vision"
    assert synced.context_length == 32768
    assert synced.capabilities == {"tools": True, "structured_output": None, "streaming": True}
    assert synced.overrides == {
        "category": "vision",
        "context_length": 32768,
        "capabilities": {"tools": True, "structured_output": None},
    }
    assert synced.listed["context_length"] == 8192
    assert catalog_version(synced.workspace_id) != version


def test_a_resync_keeps_overrides_and_records_the_new_listed_values(
    admin_client, stub_adapter, custom_credential, synced
):
    admin_override(admin_client, synced, override_context_length="32768", override_tools="yes")
    stub_adapter.models = [
        free("llama", context_length=4096, max_output_tokens=1024, capabilities={"tools": False})
    ]

    result = catalog_sync(credential=custom_credential)

    synced.refresh_from_db()
    assert result.changed == 1  # the listing changed; the overrides did not move
    assert (synced.context_length, synced.max_output_tokens) == (32768, 1024)
    assert synced.capabilities["tools"] is True
    assert (synced.listed["context_length"], synced.listed["capabilities"]) == (
        4096,
        {"tools": False},
    )
    page = admin_client.get(CHANGE_URL.format(synced.pk)).content.decode()
    assert "4096" in page
    assert "32768" in page


def test_a_resync_with_nothing_new_changes_nothing_under_overrides(
    admin_client, custom_credential, synced
):
    admin_override(admin_client, synced, override_category="vision")

    result = catalog_sync(credential=custom_credential)

    assert (result.added, result.removed, result.changed) == (0, 0, 0)


def test_clearing_an_override_restores_the_listed_value(admin_client, synced):
    admin_override(admin_client, synced, override_context_length="32768", override_tools="yes")

    admin_override(admin_client, synced)

    synced.refresh_from_db()
    assert (synced.context_length, synced.capabilities["tools"], synced.overrides) == (
        8192,
        False,
        {},
    )


def test_admin_change_page_shows_listed_values_in_the_choices(admin_client, synced):
    page = admin_client.get(CHANGE_URL.format(synced.pk)).content.decode()

    assert "As listed (text)" in page
    assert "As listed (no)" in page  # tools
    assert "As listed (unknown)" in page  # vision: not listed
    assert "Empty: as listed (8192)" in page


def test_a_hidden_model_is_neither_listed_nor_in_category_filters(admin_client, synced):
    admin_override(admin_client, synced, hidden="on")

    body = catalog_listing_json(
        workspace_id=synced.workspace_id, category=None, provider=None, working=None
    )

    assert synced.public_id.encode() not in body
    assert CatalogModel.objects.get(pk=synced.pk).is_active  # kept, only hidden


def test_routing_and_listing_filter_on_the_overridden_category(synced):
    catalog_model_override(model=synced, overrides={"category": "image"}, hidden=False)

    images = catalog_listing_json(
        workspace_id=synced.workspace_id, category="image", provider=None, working=None
    )
    texts = catalog_listing_json(
        workspace_id=synced.workspace_id, category="text", provider=None, working=None
    )

    assert synced.public_id.encode() in images
    assert synced.public_id.encode() not in texts


@pytest.mark.parametrize(
    "overrides",
    [
        {"category": "rerank"},
        {"context_length": 0},
        {"context_length": True},
        {"max_output_tokens": "100"},
        {"capabilities": {"telepathy": True}},
        {"capabilities": {"tools": 1}},
        {"price": 0},
    ],
)
def test_invalid_overrides_are_refused(overrides):
    with pytest.raises(ValidationError):
        clean_overrides(overrides)


def test_the_admin_cannot_add_models(admin_client):
    assert admin_client.get("/admin/catalog/catalogmodel/add/").status_code == 403


def test_an_override_builds_on_the_listed_values_in_the_database_not_a_stale_copy(
    stub_adapter, custom_credential, synced
):
    stale = CatalogModel.objects.get(pk=synced.pk)  # loaded before the next sync
    stub_adapter.models = [free("llama", context_length=4096, max_output_tokens=512)]
    catalog_sync(credential=custom_credential)

    catalog_model_override(model=stale, overrides={"category": "vision"}, hidden=False)

    synced.refresh_from_db()
    assert (synced.category, synced.context_length, synced.max_output_tokens) == (
        "vision",
        4096,
        512,
    )
    assert synced.listed["context_length"] == 4096

"""Families in the catalog: computed at sync, merged and split by operators, kept across syncs."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import CatalogModel
from catalog.overrides import clean_overrides
from catalog.services import catalog_model_override, catalog_sync
from tests.catalog.factories import free
from tests.catalog.test_overrides import CHANGE_URL, admin_override


@pytest.fixture
def synced(stub_adapter, custom_credential) -> dict[str, CatalogModel]:
    stub_adapter.models = [
        free("meta-llama/Llama-3.3-70B-Instruct"),
        free("gemma-4-31b"),
        free("openrouter/auto"),
    ]
    catalog_sync(credential=custom_credential)
    return {m.upstream_id: m for m in CatalogModel.objects.all()}


def test_sync_stores_each_models_family(synced):
    assert {uid: m.family for uid, m in synced.items()} == {
        "meta-llama/Llama-3.3-70B-Instruct": "llama-3.3-70b-instruct",
        "gemma-4-31b": "gemma-4-31b",
        "openrouter/auto": "",
    }
    assert synced["gemma-4-31b"].listed["family"] == "gemma-4-31b"


def test_an_operator_merge_in_the_admin_survives_the_next_sync(
    admin_client, stub_adapter, custom_credential, synced
):
    gemma = synced["gemma-4-31b"]
    admin_override(admin_client, gemma, override_family="Gemma-4-31B-Instruct")

    catalog_sync(credential=custom_credential)

    gemma.refresh_from_db()
    assert gemma.family == "gemma-4-31b-instruct"
    assert gemma.overrides == {"family": "gemma-4-31b-instruct"}
    assert gemma.listed["family"] == "gemma-4-31b"


def test_an_operator_splits_a_model_off_into_no_family(admin_client, custom_credential, synced):
    llama = synced["meta-llama/Llama-3.3-70B-Instruct"]
    admin_override(admin_client, llama, override_family="none")

    catalog_sync(credential=custom_credential)

    llama.refresh_from_db()
    assert (llama.family, llama.overrides) == ("", {"family": ""})
    page = admin_client.get(CHANGE_URL.format(llama.pk)).content.decode()
    assert 'value="none"' in page  # the form shows the split, not "as listed"


def test_clearing_the_override_returns_to_the_listed_family(synced):
    llama = synced["meta-llama/Llama-3.3-70B-Instruct"]
    catalog_model_override(model=llama, overrides={"family": "mine"}, hidden=False)
    catalog_model_override(model=llama, overrides={}, hidden=False)

    llama.refresh_from_db()
    assert llama.family == "llama-3.3-70b-instruct"


@pytest.mark.parametrize("family", ["groq/llama", "Llama 3", "x" * 121, 7])
def test_a_family_that_could_be_mistaken_for_a_route_is_refused(family):
    with pytest.raises(ValidationError) as refused:
        clean_overrides({"family": family})
    assert "family" in refused.value.message_dict


def test_the_admin_form_names_a_bad_family_id(admin_client, synced):
    model = synced["gemma-4-31b"]
    data = {"override_family": "groq/gemma", "hidden": ""}
    response = admin_client.post(CHANGE_URL.format(model.pk), data)
    assert response.status_code == 200
    assert "no &#x27;/&#x27;" in response.content.decode()
    model.refresh_from_db()
    assert model.overrides == {}

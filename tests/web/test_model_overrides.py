"""The Models page's per-model override form: own models only, kept by sync, shown on cards."""

import pytest

from catalog.models import CatalogModel
from catalog.services import catalog_model_override
from tests.catalog.factories import seed_model
from tests.web.conftest import XSS

pytestmark = pytest.mark.django_db


def edit_url(model: CatalogModel) -> str:
    return f"/models/{model.public_id}/edit"


def form_data(**fields) -> dict[str, str]:
    return {
        "override_category": "",
        "override_context_length": "",
        "override_max_output_tokens": "",
        "override_tools": "",
        "override_vision": "",
        "override_structured_output": "",
        "override_streaming": "",
        **fields,
    }


def test_each_card_links_to_its_edit_form(client_in, text_model):
    page = client_in.get("/models/").content.decode()

    assert 'href="/models/homelab/llama-3/edit"' in page


def test_the_form_shows_listed_values(client_in, text_model):
    response = client_in.get(edit_url(text_model))

    page = response.content.decode()
    assert response.status_code == 200
    assert "As listed (text)" in page
    assert "As listed (yes)" in page  # tools
    assert "Empty: as listed (8192)." in page
    assert '<th scope="row">Tool calling</th><td>yes</td><td>yes</td>' in page


def test_saving_overrides_changes_the_model_and_the_card_shows_both_values(client_in, text_model):
    response = client_in.post(
        edit_url(text_model),
        form_data(override_context_length="32768", override_tools="no", override_vision="yes"),
    )

    assert response.status_code == 302
    text_model.refresh_from_db()
    assert text_model.context_length == 32768
    assert text_model.capabilities == {"streaming": True, "tools": False, "vision": True}
    card = client_in.get("/models/").content.decode()
    assert "context length 32768 (listed: 8192)" in card
    assert "tools no (listed: yes)" in card
    assert "32768 tokens" in card


def test_hiding_a_model_moves_it_to_the_hidden_list_and_unhiding_brings_it_back(
    client_in, text_model
):
    client_in.post(edit_url(text_model), form_data(hidden="on"))

    page = client_in.get("/models/").content.decode()
    assert 'data-testid="hidden-models"' in page
    assert 'data-model-id="homelab/llama-3"' not in page
    assert "/models/homelab/llama-3/edit" in page

    client_in.post(edit_url(text_model), form_data())

    page = client_in.get("/models/").content.decode()
    assert 'data-model-id="homelab/llama-3"' in page
    assert 'data-testid="hidden-models"' not in page


def test_invalid_values_are_shown_as_errors(client_in, text_model):
    response = client_in.post(edit_url(text_model), form_data(override_context_length="-5"))

    assert response.status_code == 400
    text_model.refresh_from_db()
    assert text_model.overrides == {}
    assert text_model.context_length == 8192


def test_another_workspaces_model_cannot_be_seen_or_edited(client_in, other_credential):
    theirs = seed_model(other_credential, "their-model", context_length=100)

    assert client_in.get(edit_url(theirs)).status_code == 404
    assert client_in.post(edit_url(theirs), form_data(hidden="on")).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.hidden, theirs.overrides) == (False, {})


def test_unknown_capabilities_are_named_on_the_card(client_in, credential):
    seed_model(credential, "local", capabilities={"tools": None, "streaming": True})

    page = client_in.get("/models/").content.decode()

    assert "unknown: tools" in page


def test_override_notes_and_names_are_escaped(client_in, credential):
    model = seed_model(credential, "odd", name=XSS, context_length=10)
    catalog_model_override(model=model, overrides={"context_length": 20}, hidden=False)

    page = client_in.get(edit_url(model)).content.decode()

    assert XSS not in page
    assert "context length 20 (listed: 10)" in page


def test_the_form_needs_a_signed_in_user(client, text_model):
    response = client.get(edit_url(text_model))

    assert response.status_code == 302
    assert "/account/" in response["Location"]

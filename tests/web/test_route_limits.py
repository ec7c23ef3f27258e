"""Free-tier limits the operator sets per key (provider setup page) and per model (the model
edit page and the admin); routing counts against the model's, else the key's, else the
documented ones."""

import pytest
from django.core.exceptions import ValidationError

from catalog.forms import ModelOverrideForm
from catalog.listing_cache import catalog_version
from catalog.overrides import clean_overrides
from gateway.routing.quota import known_limits
from tests.catalog.factories import make_credential, seed_model
from tests.web.test_model_overrides import edit_url, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def groq(workspace):
    return make_credential(workspace, "groq")


@pytest.fixture
def groq_model(groq):
    return seed_model(groq, "llama-3.1-8b-instant")


def limits_url(credential) -> str:
    return f"/account/credentials/{credential.pk}/limits"


def test_the_provider_page_has_a_limits_form_per_key_showing_the_documented_numbers(
    client_in, groq, credential
):
    page = client_in.get("/account/providers/").content.decode()

    assert f'data-testid="credential-limits-{groq.pk}"' in page
    assert f'data-testid="credential-limits-{credential.pk}"' in page
    assert f'id="limits{groq.pk}-rpm"' in page
    assert "Blank: 30" in page  # Groq's documented rpm
    assert "(a custom server has none)" in page


def test_saving_a_keys_limits_keeps_blank_ones_documented_and_drops_cached_routes(
    client_in, workspace, groq, groq_model
):
    version = catalog_version(workspace.pk)

    response = client_in.post(limits_url(groq), {"rpm": "12", "rpd": "", "tpm": "", "tpd": "900"})

    groq.refresh_from_db()
    groq_model.refresh_from_db()
    assert response.status_code == 302
    assert groq.limits == {"rpm": 12, "tpd": 900}
    assert known_limits(groq_model) == {"minute": 12, "day": 1000}  # rpd still documented
    assert catalog_version(workspace.pk) != version
    assert "(set: rpm 12, tpd 900)" in client_in.get("/account/providers/").content.decode()


def test_clearing_every_field_returns_to_the_documented_limits(client_in, groq):
    groq.limits = {"rpm": 3}
    groq.save()

    client_in.post(limits_url(groq), {"rpm": "", "rpd": "", "tpm": "", "tpd": ""})

    groq.refresh_from_db()
    assert groq.limits == {}


def test_a_custom_server_has_no_limits_until_the_operator_sets_them(client_in, credential):
    model = seed_model(credential, "llama")
    assert known_limits(model) == {}

    client_in.post(limits_url(credential), {"rpm": "4"})

    model.refresh_from_db()
    assert known_limits(model) == {"minute": 4}


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_a_bad_limit_is_shown_in_its_form_and_nothing_is_saved(client_in, groq, value):
    response = client_in.post(limits_url(groq), {"rpm": value})

    groq.refresh_from_db()
    assert response.status_code == 400
    assert groq.limits == {}
    page = response.content.decode()
    assert f'data-testid="credential-limits-{groq.pk}"' in page
    assert 'class="errorlist"' in page


def test_another_workspaces_key_cannot_be_limited(client_in, other_user):
    theirs = make_credential(other_user.workspace, "groq")

    response = client_in.post(limits_url(theirs), {"rpm": "1"})

    theirs.refresh_from_db()
    assert response.status_code == 404
    assert theirs.limits == {}


def test_a_models_limits_override_the_keys_and_the_documented_ones(client_in, groq, groq_model):
    groq.limits = {"rpm": 20, "rpd": 500}
    groq.save()

    response = client_in.post(edit_url(groq_model), form_data(override_rpm="5", override_tpd=""))

    groq_model.refresh_from_db()
    assert response.status_code == 302
    assert groq_model.overrides == {"limits": {"rpm": 5}}
    assert known_limits(groq_model) == {"minute": 5, "day": 500}


def test_the_model_edit_page_shows_what_a_blank_limit_falls_back_to(client_in, groq, groq_model):
    groq.limits = {"rpd": 500}
    groq.save()
    groq_model.overrides = {"limits": {"rpm": 7}}
    groq_model.save()

    page = client_in.get(edit_url(groq_model)).content.decode()

    assert 'name="override_rpm" value="7"' in page
    assert "Empty: the credential&#x27;s (500)." in page  # rpd: the key's own number
    assert "Empty: the credential&#x27;s (30)." in page  # rpm: documented, shown for reference


def test_limits_survive_other_overrides_being_saved_through_the_admin_form(groq_model):
    form = ModelOverrideForm(
        data={**form_data(override_context_length="4096", override_rpd="40"), "hidden": ""},
        instance=groq_model,
    )

    assert form.is_valid(), form.errors
    assert form.overrides() == {"context_length": 4096, "limits": {"rpd": 40}}


@pytest.mark.parametrize("limits", [{"rpm": 0}, {"rph": 5}, {"rpd": "5"}, {"tpm": True}])
def test_bad_model_limits_are_refused_naming_the_field(limits):
    with pytest.raises(ValidationError) as raised:
        clean_overrides({"limits": limits})

    assert "limits" in raised.value.message_dict


def test_model_limits_are_kept_by_a_clean():
    assert clean_overrides({"limits": {"rpm": 5, "tpd": 10}}) == {"limits": {"rpm": 5, "tpd": 10}}

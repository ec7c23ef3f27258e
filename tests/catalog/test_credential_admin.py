"""The credential admin never renders a key or its ciphertext; keys are replaced write-only."""

import base64

import pytest

from providers.models import ProviderCredential
from providers.services import credential_save

CANARY = "sk-canary-0123456789abcdefSECRET"
URL = "/admin/providers/providercredential/"


@pytest.fixture
def credential(workspace):
    return credential_save(workspace=workspace, provider="groq", api_key=CANARY)


def assert_no_secret(html, credential):
    ciphertext = bytes(
        ProviderCredential.objects.filter(pk=credential.pk).values_list("api_key", flat=True).get()
    )
    assert CANARY not in html
    assert base64.b64encode(ciphertext).decode()[:24] not in html


def test_changelist_shows_only_the_masked_key(admin_client, credential):
    html = admin_client.get(URL).content.decode()

    assert f"••••{CANARY[-4:]}" in html
    assert_no_secret(html, credential)


def test_changelist_filters(admin_client, credential):
    response = admin_client.get(
        URL, {"provider": "groq", "state": "unknown", "enabled__exact": "1"}
    )

    assert response.status_code == 200
    assert "groq" in response.content.decode()


def test_change_page_has_an_empty_write_only_field(admin_client, credential):
    html = admin_client.get(f"{URL}{credential.pk}/change/").content.decode()

    assert 'name="replace_key"' in html
    assert 'type="password"' in html
    assert_no_secret(html, credential)


def form_data(credential, **extra):
    return {
        "workspace": credential.workspace_id,
        "provider": credential.provider,
        "name": credential.name,
        "base_url": "",
        "account_id": "",
        "enabled": "on",
        **extra,
    }


def test_replace_key_replaces_it(admin_client, credential):
    response = admin_client.post(
        f"{URL}{credential.pk}/change/", form_data(credential, replace_key="gsk_new_key_7777")
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.api_key, credential.key_hint) == ("gsk_new_key_7777", "7777")


def test_an_empty_replace_key_keeps_the_key(admin_client, credential):
    admin_client.post(f"{URL}{credential.pk}/change/", form_data(credential, enabled=""))

    credential.refresh_from_db()
    assert (credential.api_key, credential.enabled) == (CANARY, False)


def test_adding_needs_a_key_for_keyed_providers(admin_client, workspace):
    data = {"workspace": workspace.pk, "provider": "groq", "name": "", "enabled": "on"}

    missing = admin_client.post(f"{URL}add/", data)
    added = admin_client.post(f"{URL}add/", {**data, "replace_key": "gsk_added_1234"})

    assert missing.status_code == 200
    assert "needs an API key" in missing.content.decode()
    assert added.status_code == 302
    created = ProviderCredential.objects.get(workspace=workspace, name="groq")
    assert (created.api_key, created.key_hint) == ("gsk_added_1234", "1234")


def test_adding_cloudflare_without_account_id_is_refused(admin_client, workspace):
    data = {"workspace": workspace.pk, "provider": "cloudflare", "name": "", "replace_key": "t"}

    response = admin_client.post(f"{URL}add/", data)

    assert response.status_code == 200
    assert "needs your account id" in response.content.decode()


def test_a_saved_credential_cannot_move_to_another_workspace(admin_client, credential, other_user):
    page = admin_client.get(f"{URL}{credential.pk}/change/").content.decode()
    response = admin_client.post(
        f"{URL}{credential.pk}/change/",
        {**form_data(credential), "workspace": other_user.workspace.pk},
    )

    assert 'name="workspace"' not in page
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.workspace_id != other_user.workspace.pk

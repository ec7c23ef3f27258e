"""credential_save / credential_replace_key / credential_delete / credential_check."""

import logging

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from providers.models import ProviderCredential
from providers.services import (
    credential_check,
    credential_delete,
    credential_replace_key,
    credential_save,
)

from .conftest import CANARY

GROQ_MODELS = "https://api.groq.com/openai/v1/models"


def test_save_creates_with_the_slug_as_name_and_a_hint(workspace, caplog):
    caplog.set_level(logging.DEBUG)

    credential = credential_save(workspace=workspace, provider="groq", api_key=f" {CANARY} ")

    assert (credential.name, credential.provider) == ("groq", "groq")
    assert credential.key_hint == CANARY[-4:]
    assert credential.masked_key == f"••••{CANARY[-4:]}"
    assert ProviderCredential.objects.get(pk=credential.pk).api_key == CANARY
    assert CANARY not in caplog.text


def test_save_replaces_by_name_and_resets_the_state(workspace):
    first = credential_save(workspace=workspace, provider="groq", api_key="gsk_first_1111")
    ProviderCredential.objects.filter(pk=first.pk).update(state="auth_failed")

    second = credential_save(workspace=workspace, provider="groq", api_key="gsk_second_2222")

    assert second.pk == first.pk
    second.refresh_from_db()
    assert (second.api_key, second.key_hint, second.state) == ("gsk_second_2222", "2222", "unknown")
    assert ProviderCredential.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"provider": "nope", "api_key": "k"}, "provider"),
        ({"provider": "groq", "api_key": ""}, "api_key"),
        ({"provider": "groq", "api_key": "two\nlines"}, "api_key"),
        ({"provider": "custom", "api_key": "", "base_url": "http://x.test/v1"}, "name"),
        ({"provider": "custom", "api_key": "", "name": "mine"}, "base_url"),
        ({"provider": "custom", "api_key": "", "name": "mine", "base_url": "ftp://x"}, "base_url"),
        ({"provider": "cloudflare", "api_key": "k"}, "account_id"),
        ({"provider": "cloudflare", "api_key": "k", "account_id": "../x"}, "account_id"),
        ({"provider": "groq", "api_key": "k", "name": "not a slug"}, "name"),
        ({"provider": "cerebras", "api_key": "csk-1234"}, "provider"),
    ],
)
def test_save_validates(workspace, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        credential_save(workspace=workspace, **kwargs)

    assert field in caught.value.message_dict
    assert not ProviderCredential.objects.exists()


@override_settings(OPENPROVIDER_REENABLED_PROVIDERS=["cerebras"])
def test_re_enabled_providers_can_be_saved(workspace):
    assert credential_save(workspace=workspace, provider="cerebras", api_key="csk-1234").pk


def test_keyless_custom_and_ollama(workspace):
    custom = credential_save(
        workspace=workspace,
        provider="custom",
        api_key="",
        name="lab",
        base_url="http://lab.test/v1",
    )
    ollama = credential_save(workspace=workspace, provider="ollama", api_key="")

    assert (custom.key_hint, custom.base_url) == ("", "http://lab.test/v1")
    assert ollama.masked_key == ""


def test_cloudflare_keeps_its_account_id(workspace):
    credential = credential_save(
        workspace=workspace, provider="cloudflare", api_key="cf-token-abcd", account_id="a1b2c3"
    )

    assert credential.account_id == "a1b2c3"


def test_replace_key_and_delete(workspace):
    credential = credential_save(workspace=workspace, provider="groq", api_key="gsk_old_0000")

    credential_replace_key(credential=credential, api_key="gsk_new_9999")
    assert ProviderCredential.objects.get(pk=credential.pk).api_key == "gsk_new_9999"

    credential_delete(credential=credential)
    assert not ProviderCredential.objects.exists()


def test_check_ok_records_state_and_latency(workspace, http_mock):
    credential = credential_save(workspace=workspace, provider="groq", api_key=CANARY)
    http_mock.get(GROQ_MODELS, json={"data": []})

    state, message, latency = credential_check(credential=credential)

    assert (state, message) == ("ok", "")
    assert isinstance(latency, int)
    assert latency >= 0
    credential.refresh_from_db()
    assert (credential.state, credential.check_latency_ms) == ("ok", latency)
    assert credential.checked_at is not None


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (401, "auth_failed"),
        (403, "auth_failed"),
        (402, "payment_required"),
        (410, "retired"),
        (429, "rate_limited"),
        (500, "down"),
    ],
)
def test_check_failures_are_stored_sanitized(workspace, http_mock, caplog, status, state):
    caplog.set_level(logging.DEBUG)
    credential = credential_save(workspace=workspace, provider="groq", api_key=CANARY)
    http_mock.get(GROQ_MODELS, status=status, json={"error": {"message": f"bad key {CANARY}"}})

    result_state, message, _ = credential_check(credential=credential)

    credential.refresh_from_db()
    assert result_state == credential.state == state
    assert "bad key [redacted]" in credential.state_message  # the provider's own reason
    assert CANARY not in message
    assert CANARY not in credential.state_message
    assert CANARY not in caplog.text


def test_check_records_unreadable_keys_without_calling_upstream(workspace, http_mock):
    from .test_encryption import write_raw

    credential = credential_save(workspace=workspace, provider="groq", api_key=CANARY)
    write_raw(credential.pk, b"garbage")
    loaded = ProviderCredential.objects.get(pk=credential.pk)

    state, message, latency = credential_check(credential=loaded)

    assert (state, latency) == ("unreadable", None)
    assert "cannot be decrypted" in message
    assert len(http_mock.calls) == 0
    assert ProviderCredential.objects.get(pk=credential.pk).state == "unreadable"

"""Encryption at rest beyond tests/providers/test_encryption.py: random IVs, a corrupted row end
to end (status, routing, no ciphertext ever used as a key) and a re-encryption that dies
halfway."""

import base64

import pytest
from django.db import connection
from django.test import override_settings

from catalog.services import provider_check
from providers import services as provider_services
from providers.models import ProviderCredential
from providers.services import secrets_reencrypt

pytestmark = pytest.mark.django_db

KEY_OLD = "encryption-key-old-0123456789abcdefghijklmnopqrstuvwxyz"
KEY_NEW = "encryption-key-new-0123456789abcdefghijklmnopqrstuvwxyz"


def raw(pk: int) -> bytes:
    return bytes(ProviderCredential.objects.filter(pk=pk).values_list("api_key", flat=True).get())


def corrupt(pk: int) -> None:
    table = connection.ops.quote_name(ProviderCredential._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET api_key = %s WHERE id = %s",  # noqa: S608
            [b"\x80corrupted-ciphertext", pk],
        )


def test_identical_keys_are_stored_as_different_ciphertexts(tenant_a, tenant_b):
    same = "sk-canary-same-plaintext-0123456789"
    for tenant in (tenant_a, tenant_b):
        ProviderCredential.objects.filter(pk=tenant.credential.pk).update(api_key=same)
    a, b = raw(tenant_a.credential.pk), raw(tenant_b.credential.pk)

    assert a != b
    for stored in (a, b):
        assert same.encode() not in stored
        assert base64.b64encode(same.encode()) not in stored
        assert base64.urlsafe_b64encode(same.encode()).rstrip(b"=") not in stored
    assert ProviderCredential.objects.get(pk=tenant_a.credential.pk).api_key == same


def test_a_corrupted_key_is_reported_unreadable_and_never_sent(tenant_a, upstream):
    corrupt(tenant_a.credential.pk)
    credential = ProviderCredential.objects.get(pk=tenant_a.credential.pk)

    provider_check(credential=credential)
    status = tenant_a.api().get("/v1/providers/status").json()["data"]
    body = {"model": tenant_a.chat_model.public_id, "messages": [{"role": "user", "content": "x"}]}
    chat = tenant_a.api().post("/v1/chat/completions", body, format="json")
    page = tenant_a.web().get("/account/providers/").content.decode()

    assert status[0]["state"] == "unreadable"
    assert "cannot be decrypted" in status[0]["state_message"]
    assert "Unreadable" in page
    assert chat.status_code == 503
    assert chat.json()["error"]["code"] == "no_available_model"
    assert upstream.calls == []


def test_a_key_that_became_unreadable_since_the_last_check_is_never_sent(tenant_a, upstream):
    """The state still says ok; the request path finds out itself and sends nothing."""
    corrupt(tenant_a.credential.pk)
    body = {"model": tenant_a.chat_model.public_id, "messages": [{"role": "user", "content": "x"}]}

    response = tenant_a.api().post("/v1/chat/completions", body, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_available_model"
    assert "corrupted" not in response.content.decode()
    assert upstream.calls == []


def test_reencryption_that_dies_halfway_is_completed_by_a_rerun(tenant_a, monkeypatch):
    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_OLD):
        credentials = [
            ProviderCredential.objects.create(
                workspace=tenant_a.workspace,
                provider="groq",
                name=f"groq-{i}",
                api_key=f"gsk_canary_rotation_{i:04d}",
            )
            for i in range(6)
        ]
    original = provider_services._reencrypt_row
    done: list[int] = []

    def dies_after_three(pk: int) -> str:
        if len(done) == 3:
            raise KeyboardInterrupt  # the process is killed
        done.append(pk)
        return original(pk)

    with override_settings(
        OPENPROVIDER_ENCRYPTION_KEY=KEY_NEW, OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS=[KEY_OLD]
    ):
        monkeypatch.setattr(provider_services, "_reencrypt_row", dies_after_three)
        with pytest.raises(KeyboardInterrupt):
            secrets_reencrypt()
        monkeypatch.setattr(provider_services, "_reencrypt_row", original)
        # rows already rotated and rows not yet rotated both still read
        assert [ProviderCredential.objects.get(pk=c.pk).api_key for c in credentials] == [
            f"gsk_canary_rotation_{i:04d}" for i in range(6)
        ]
        secrets_reencrypt()

    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_NEW):  # the old key is gone
        assert [ProviderCredential.objects.get(pk=c.pk).api_key for c in credentials] == [
            f"gsk_canary_rotation_{i:04d}" for i in range(6)
        ]


@pytest.mark.parametrize("how", ["providers page", "admin", "service"])
def test_a_replaced_key_is_used_on_the_very_next_request(
    tenant_a, upstream, how, django_capture_on_commit_callbacks, db
):
    """No cached adapter or plaintext keeps the old key alive."""
    from django.test import Client

    from accounts.models import User
    from catalog.credentials import credential_replace_key

    body = {"model": tenant_a.chat_model.public_id, "messages": [{"role": "user", "content": "x"}]}
    api = tenant_a.api()
    assert api.post("/v1/chat/completions", body, format="json").status_code == 200
    new_key = "sk-canary-rotated-" + how.replace(" ", "-") + "-0123456789"
    credential = ProviderCredential.objects.get(pk=tenant_a.credential.pk)

    with django_capture_on_commit_callbacks(execute=False):
        if how == "providers page":
            response = tenant_a.web().post(
                "/account/providers/custom/save",
                {
                    "form_key": f"cred{credential.pk}",
                    "name": credential.name,
                    "api_key": new_key,
                    "base_url": credential.base_url,
                },
            )
            assert response.status_code == 302
        elif how == "admin":
            root = User.objects.create_superuser("root@example.com", password="x")
            admin = Client()
            admin.force_login(root)
            response = admin.post(
                f"/admin/providers/providercredential/{credential.pk}/change/",
                {
                    "workspace": credential.workspace_id,
                    "provider": "custom",
                    "name": credential.name,
                    "base_url": credential.base_url,
                    "enabled": "on",
                    "replace_key": new_key,
                },
            )
            assert response.status_code == 302
        else:
            credential_replace_key(credential=credential, api_key=new_key)
    assert api.post("/v1/chat/completions", body, format="json").status_code == 200

    assert [auth for _, _, auth in upstream.calls] == [
        f"Bearer {tenant_a.provider_key}",
        f"Bearer {new_key}",
    ]
    assert tenant_a.provider_key.encode() not in raw(credential.pk)

"""Keys at rest: encrypted, loud when unreadable, rotated by `manage.py reencrypt_secrets`."""

import io
import logging
import pickle

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from providers.encryption import SecretUnreadable, decrypt_secret, unseal
from providers.models import ProviderCredential

KEY_A = "encryption-key-A-0123456789abcdefghijklmnopqrstuvwxyz"
KEY_B = "encryption-key-B-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_1 = "secret-key-one-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_2 = "secret-key-two-0123456789abcdefghijklmnopqrstuvwxyz"
PLAIN = "gsk_live_plaintext_key_0001"


def raw_ciphertext(pk):
    return bytes(ProviderCredential.objects.filter(pk=pk).values_list("api_key", flat=True).get())


def write_raw(pk, data):
    table = connection.ops.quote_name(ProviderCredential._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET api_key = %s WHERE id = %s", [data, pk])  # noqa: S608


def make(workspace, name, key=PLAIN):
    return ProviderCredential.objects.create(
        workspace=workspace, provider="groq", name=name, api_key=key
    )


def test_the_key_is_stored_encrypted_and_read_back(workspace):
    credential = make(workspace, "groq")

    stored = raw_ciphertext(credential.pk)

    assert PLAIN.encode() not in stored
    assert ProviderCredential.objects.get(pk=credential.pk).api_key == PLAIN


def test_rows_written_by_django_cryptography_stay_readable(workspace):
    # given bytes exactly as django_cryptography.fields.encrypt writes them
    from django_cryptography.utils.crypto import FernetBytes

    credential = make(workspace, "groq")
    write_raw(credential.pk, FernetBytes().encrypt(pickle.dumps(PLAIN)))

    assert ProviderCredential.objects.get(pk=credential.pk).api_key == PLAIN


def test_an_undecryptable_row_loads_but_reading_the_key_raises_loudly(workspace, caplog):
    credential = make(workspace, "groq")
    write_raw(credential.pk, b"\x80garbage-that-is-not-a-token")

    loaded = ProviderCredential.objects.get(pk=credential.pk)  # listing and loading still work
    with pytest.raises(SecretUnreadable) as caught:
        _ = loaded.api_key

    assert caught.value.kind == "unreadable"
    assert "garbage" not in str(caught.value)
    assert f"{credential.pk}: the stored secret cannot be decrypted" in caplog.text


def test_saving_other_fields_keeps_an_unreadable_ciphertext_untouched(workspace):
    credential = make(workspace, "groq")
    write_raw(credential.pk, b"corrupt")
    loaded = ProviderCredential.objects.get(pk=credential.pk)

    loaded.enabled = False
    loaded.save()

    assert raw_ciphertext(credential.pk) == b"corrupt"


def test_wrong_keys_do_not_decrypt(workspace):
    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_A):
        credential = make(workspace, "groq")

    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_B), pytest.raises(SecretUnreadable):
        decrypt_secret(raw_ciphertext(credential.pk))


def test_fallback_keys_are_tried_on_read(workspace):
    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_A):
        credential = make(workspace, "groq")

    with override_settings(
        OPENPROVIDER_ENCRYPTION_KEY=KEY_B, OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS=[KEY_A]
    ):
        assert unseal(raw_ciphertext(credential.pk)) == (PLAIN, False)


def test_reencrypt_rotates_the_encryption_key_and_reports_unreadable_rows(workspace):
    # given rows written with key A, and one corrupted row
    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_A):
        good = [make(workspace, f"k{i}", key=f"{PLAIN}-{i}") for i in range(3)]
        broken = make(workspace, "broken")
    write_raw(broken.pk, b"not-a-token")
    out = io.StringIO()

    # when the command runs with key B and A as a fallback
    with (
        override_settings(
            OPENPROVIDER_ENCRYPTION_KEY=KEY_B, OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS=[KEY_A]
        ),
        pytest.raises(CommandError) as caught,
    ):
        call_command("reencrypt_secrets", stdout=out)

    # then every good row decrypts with B alone, and the broken one is named and untouched
    assert f"ids: {broken.pk}" in str(caught.value)
    assert "re-encrypted 3, already current 0, unreadable 1" in out.getvalue()
    assert raw_ciphertext(broken.pk) == b"not-a-token"
    with override_settings(
        OPENPROVIDER_ENCRYPTION_KEY=KEY_B, OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS=[]
    ):
        for i, credential in enumerate(good):
            assert unseal(raw_ciphertext(credential.pk)) == (f"{PLAIN}-{i}", True)


def test_reencrypt_is_idempotent(workspace):
    with override_settings(OPENPROVIDER_ENCRYPTION_KEY=KEY_A):
        make(workspace, "groq")
    out = io.StringIO()

    with override_settings(
        OPENPROVIDER_ENCRYPTION_KEY=KEY_B, OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS=[KEY_A]
    ):
        call_command("reencrypt_secrets", stdout=io.StringIO())
        call_command("reencrypt_secrets", stdout=out)

    assert "re-encrypted 0, already current 1, unreadable 0" in out.getvalue()


def test_reencrypt_rotates_the_signing_secret_key(workspace):
    with override_settings(SECRET_KEY=SECRET_1):
        credential = make(workspace, "groq")

    with override_settings(SECRET_KEY=SECRET_2, SECRET_KEY_FALLBACKS=[SECRET_1]):
        call_command("reencrypt_secrets", stdout=io.StringIO())

    with override_settings(SECRET_KEY=SECRET_2, SECRET_KEY_FALLBACKS=[]):
        assert unseal(raw_ciphertext(credential.pk)) == (PLAIN, True)
    with override_settings(SECRET_KEY=SECRET_1), pytest.raises(SecretUnreadable):
        unseal(raw_ciphertext(credential.pk))


def test_serialization_never_contains_the_plaintext(workspace, caplog):
    caplog.set_level(logging.DEBUG)
    make(workspace, "groq")

    dumped = serializers.serialize("json", ProviderCredential.objects.all())
    (restored,) = list(serializers.deserialize("json", dumped))

    assert PLAIN not in dumped
    assert PLAIN not in caplog.text
    assert restored.object.api_key == PLAIN

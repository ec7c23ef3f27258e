"""Provider keys at rest: django-cryptography's format, plus key rotation and loud failures.

The stored bytes are exactly what `django_cryptography.fields.encrypt` writes: AES-CBC over
`pickle.dumps(plaintext)` with a key PBKDF2-derived from OPENPROVIDER_ENCRYPTION_KEY and
CRYPTOGRAPHY_SALT, signed (HMAC-SHA256) with SECRET_KEY. Unlike that field, which binds both keys
when models are imported, this one reads settings when it runs, so:

- reads try every OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS x SECRET_KEY_FALLBACKS pair (rotation
  without downtime; `manage.py reencrypt_secrets` then rewrites rows with the current keys);
- decryption is lazy: a row whose key cannot be decrypted still loads, lists and saves, and
  only reading `.api_key` raises SecretUnreadable. The ciphertext is never handed out as a key.
"""

import base64
import io
import logging
import pickle
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.encoding import force_bytes

from .errors import ProviderError

logger = logging.getLogger(__name__)

PBKDF2_ITERATIONS = 30000  # django_cryptography.conf.CryptographyConf.configure
SERIALIZED_PREFIX = "encrypted:"


class SecretUnreadable(ProviderError):
    """The stored key cannot be decrypted with the current or any fallback key."""

    def __init__(self) -> None:
        super().__init__(
            "the stored provider key cannot be decrypted with the current encryption keys; "
            "enter the key again",
            kind="unreadable",
        )


class Ciphertext(bytes):
    """Bytes read from the database and not decrypted (yet)."""


@lru_cache(maxsize=16)
def _derive(raw_key: str | bytes, salt: bytes) -> bytes:
    """The AES key, derived exactly as django_cryptography's CryptographyConf does."""
    kdf = PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    return kdf.derive(force_bytes(raw_key))


def _aes_keys() -> list[bytes]:
    """The current AES key first, then the fallbacks'."""
    salt = force_bytes(settings.CRYPTOGRAPHY_SALT)
    current = getattr(settings, "OPENPROVIDER_ENCRYPTION_KEY", None) or settings.CRYPTOGRAPHY_KEY
    # django-cryptography's AppConf replaces CRYPTOGRAPHY_KEY with the derived bytes on import.
    first = current if isinstance(current, bytes) else _derive(current or settings.SECRET_KEY, salt)
    keys = [first]
    for raw in settings.OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS:
        derived = _derive(raw, salt)
        if derived not in keys:
            keys.append(derived)
    return keys


def _signing_keys() -> list[str]:
    keys = [settings.SECRET_KEY]
    return keys + [k for k in settings.SECRET_KEY_FALLBACKS if k not in keys]


def _fernet(aes_key: bytes, signing_key: str) -> Any:
    # Imported here: importing django_cryptography rewrites settings.CRYPTOGRAPHY_KEY (AppConf),
    # which must not happen while apps load and system checks read the raw setting.
    from django_cryptography.core.signing import FernetSigner
    from django_cryptography.utils.crypto import FernetBytes

    return FernetBytes(aes_key, FernetSigner(signing_key))


class _StrOnlyUnpickler(pickle.Unpickler):
    """The payload is a pickled str: refuse anything that would import or build objects."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError("only plain strings are stored here")


def _open(aes_key: bytes, signing_key: str, data: bytes) -> str | None:
    try:
        payload = _fernet(aes_key, signing_key).decrypt(data)
        # Safe: the HMAC check passed and the unpickler refuses every global.
        value = _StrOnlyUnpickler(io.BytesIO(payload)).load()
    except Exception:  # wrong key pair or corrupt bytes: the caller tries the next pair
        return None
    return value if isinstance(value, str) else None


def encrypt_secret(plaintext: str) -> bytes:
    """Encrypt with the current keys."""
    return bytes(_fernet(_aes_keys()[0], _signing_keys()[0]).encrypt(pickle.dumps(plaintext)))


def unseal(ciphertext: bytes | memoryview) -> tuple[str, bool]:
    """(plaintext, written with the current keys?); raises SecretUnreadable."""
    data = bytes(ciphertext)
    for aes_index, aes_key in enumerate(_aes_keys()):
        for sign_index, signing_key in enumerate(_signing_keys()):
            plaintext = _open(aes_key, signing_key, data)
            if plaintext is not None:
                return plaintext, aes_index == 0 and sign_index == 0
    raise SecretUnreadable()


def decrypt_secret(ciphertext: bytes) -> str:
    return unseal(ciphertext)[0]


class _SecretAttribute(DeferredAttribute):
    """Decrypts on first read (loudly failing), caches the plaintext on the instance."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            try:
                value = decrypt_secret(value)
            except SecretUnreadable:
                label = instance._meta.label
                logger.error("%s %s: the stored secret cannot be decrypted", label, instance.pk)
                raise
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedSecretField(models.BinaryField[str | None, str]):
    """A write-mostly secret string, encrypted at rest (see the module docstring)."""

    descriptor_class = _SecretAttribute

    def _check_str_default_value(self) -> list[Any]:
        return []  # the Python value is a str (the plaintext), so a str default is right

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Ciphertext(bytes(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        return model_instance.__dict__.get(self.attname)  # saving never needs the plaintext

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if not isinstance(value, Ciphertext):
            value = encrypt_secret(str(value))
        return connection.Database.Binary(bytes(value))

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def value_to_string(self, obj: models.Model) -> str:
        """Serialized (dumpdata) as marked base64 ciphertext, never as plaintext."""
        value = obj.__dict__.get(self.attname)
        if value is None:
            return ""
        raw = value if isinstance(value, Ciphertext) else encrypt_secret(str(value))
        return SERIALIZED_PREFIX + base64.b64encode(raw).decode("ascii")

    def to_python(self, value: Any) -> Any:
        """Only loaddata's marked ciphertext is decoded; any other string is a plaintext key."""
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            return Ciphertext(base64.b64decode(value.removeprefix(SERIALIZED_PREFIX)))
        return value

"""Startup refuses placeholder secrets when DEBUG is false."""

from django.conf import settings
from django.core.checks import Error, Tags, register

PLACEHOLDER_MARKERS = ("dev-insecure", "change-me", "changeme", "placeholder", "example")


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return len(value) < 32 or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


@register(Tags.security)
def check_secrets(app_configs: object = None, **kwargs: object) -> list[Error]:
    """SECRET_KEY and OPENPROVIDER_ENCRYPTION_KEY must be long, random and distinct."""
    if settings.DEBUG:
        return []
    # The raw setting: django-cryptography turns CRYPTOGRAPHY_KEY into derived bytes.
    encryption_key = settings.OPENPROVIDER_ENCRYPTION_KEY
    errors = []
    if _is_placeholder(settings.SECRET_KEY):
        errors.append(
            Error("SECRET_KEY is a placeholder; set a long random value.", id="openprovider.E001")
        )
    if _is_placeholder(encryption_key):
        errors.append(
            Error(
                "OPENPROVIDER_ENCRYPTION_KEY is a placeholder; set a long random value.",
                id="openprovider.E002",
            )
        )
    if encryption_key == settings.SECRET_KEY:
        errors.append(
            Error(
                "OPENPROVIDER_ENCRYPTION_KEY must differ from SECRET_KEY.", id="openprovider.E003"
            )
        )
    return errors

"""Startup refuses placeholder secrets when DEBUG is false; CSRF protection is in place."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

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


DJANGO_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


@register(Tags.security, deploy=True)
def check_csrf_middleware(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """CSRF protection through a CsrfViewMiddleware subclass (gateway's web-only one).

    Django's security.W003 and W016 only recognise the exact class path, so settings silence
    W003 and these checks stand in for both.
    """
    from django.middleware.csrf import CsrfViewMiddleware
    from django.utils.module_loading import import_string

    classes = [import_string(path) for path in settings.MIDDLEWARE]
    if not any(issubclass(cls, CsrfViewMiddleware) for cls in classes if isinstance(cls, type)):
        return [Error("No CSRF middleware in MIDDLEWARE.", id="openprovider.E004")]
    if DJANGO_CSRF_MIDDLEWARE not in settings.MIDDLEWARE and not settings.CSRF_COOKIE_SECURE:
        return [Warning("CSRF_COOKIE_SECURE is not True.", id="openprovider.W016")]
    return []

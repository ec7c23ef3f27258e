"""openprovider.E004 / W016: CSRF protection through the web-only CSRF middleware subclass
(Django's security.W003 and W016 only know the exact class path, so settings silence W003)."""

from django.conf import settings

from accounts.checks import check_csrf_middleware

WITHOUT_CSRF = [m for m in settings.MIDDLEWARE if "Csrf" not in m]


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_the_configured_middleware_passes(settings):
    settings.CSRF_COOKIE_SECURE = True

    assert check_csrf_middleware() == []
    assert "security.W003" in settings.SILENCED_SYSTEM_CHECKS


def test_no_csrf_middleware_at_all_is_an_error(settings):
    settings.MIDDLEWARE = WITHOUT_CSRF

    assert ids(check_csrf_middleware()) == ["openprovider.E004"]


def test_an_insecure_csrf_cookie_is_still_reported(settings):
    settings.CSRF_COOKIE_SECURE = False

    assert ids(check_csrf_middleware()) == ["openprovider.W016"]


def test_djangos_own_middleware_is_left_to_djangos_checks(settings):
    settings.MIDDLEWARE = [*WITHOUT_CSRF, "django.middleware.csrf.CsrfViewMiddleware"]
    settings.CSRF_COOKIE_SECURE = False

    assert check_csrf_middleware() == []

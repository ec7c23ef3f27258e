"""Web hardening over the whole URLconf (tests/web and tests/accounts cover single pages):
CSRF on every POST outside /v1, security headers on every HTML answer, open redirects through
`next`, hostile Host headers, session rotation and cookie flags under production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from tests.security.test_route_inventory import ROUTES, SESSION, all_routes, is_admin

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OFF_SITE = ["//evil.com", "https://evil.com", "https:evil.com", "/\\evil.com", "\\\\evil.com"]


def _url(route: str, pk: int = 1) -> str:
    return "/" + re.sub(r"<[^>]+>", str(pk), route).replace("^.*$", "x")


def _site_routes() -> list[str]:
    """Every route outside /v1 (key auth, no cookies) and the metrics endpoint."""
    return sorted(
        route
        for route, _ in all_routes()
        if not route.startswith("v1/") and route not in ("metrics", "healthz", "api/schema")
    )


# ---- CSRF on every POST --------------------------------------------------------------------------


def test_every_post_outside_v1_needs_a_csrf_token(tenant_a, superuser_client_factory):
    """Derived from the URLconf: a new form or JSON endpoint is covered the day it appears."""
    signed_in = tenant_a.web(enforce_csrf_checks=True)
    staff = superuser_client_factory(enforce_csrf_checks=True)
    for route in _site_routes():
        url = _url(route, tenant_a.conversation.pk)
        for client in (staff,) if is_admin(route) else (signed_in,):
            response = client.post(url, {"x": "1"}, HTTP_ACCEPT="text/event-stream")
            assert response.status_code == 403, route


def test_csrf_refusals_change_nothing(tenant_a, upstream):
    before = (
        tenant_a.conversation.title,
        tenant_a.workspace.saved_models.count(),
        tenant_a.workspace.api_keys.filter(revoked_at__isnull=True).count(),
    )
    client = tenant_a.web(enforce_csrf_checks=True)
    client.post("/account/keys/", {"name": "sneaky"})
    client.post(f"/account/keys/{tenant_a.api_key.pk}/revoke/")
    client.post(f"/chat/{tenant_a.conversation.pk}/rename", {"title": "pwned"})
    client.post(f"/account/saved/{tenant_a.saved.pk}/delete")

    tenant_a.conversation.refresh_from_db()
    assert before == (
        tenant_a.conversation.title,
        tenant_a.workspace.saved_models.count(),
        tenant_a.workspace.api_keys.filter(revoked_at__isnull=True).count(),
    )
    assert upstream.calls == []


# ---- security headers ----------------------------------------------------------------------------


def _assert_security_headers(response, where: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert response.get("X-Frame-Options") == "DENY", where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("Cross-Origin-Opener-Policy") == "same-origin", where


def test_every_html_answer_carries_the_security_headers(client, tenant_a, superuser_client_factory):
    staff = superuser_client_factory()
    signed_in = tenant_a.web()
    checked = 0
    for route in _site_routes():
        url = _url(route, tenant_a.conversation.pk)
        who = [client, staff] if is_admin(route) else [client, signed_in]
        for visitor in who:
            response = visitor.get(url, follow=True)
            if "text/html" in response.get("Content-Type", ""):
                _assert_security_headers(response, f"{route} ({response.status_code})")
                checked += 1
    for url in ("/no-such-page/", f"/chat/{987654}/"):
        _assert_security_headers(signed_in.get(url), url)
    assert checked > 40


# ---- open redirects through next -----------------------------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE)
def test_posted_next_never_leaves_the_site(tenant_a, target):
    web = tenant_a.web()
    answers = [
        web.post(f"/chat/{tenant_a.conversation.pk}/rename", {"title": "t", "next": target}),
        web.post("/models/save", {"model_id": tenant_a.chat_model.public_id, "next": target}),
    ]
    for response in answers:
        assert response.status_code == 302
        assert response["Location"].startswith("/")
        assert not response["Location"].startswith(("//", "/\\"))
        assert "evil.com" not in response["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_page_links_never_carry_an_off_site_next(client, target):
    page = client.get("/account/signin/", {"next": target}).content.decode()

    assert 'href="//evil.com' not in page
    assert 'action="//evil.com' not in page


# ---- hostile Host headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.com", "testserver:@evil.com", "testserver/", "evil.com:80", "[::1]x"]
)
@pytest.mark.parametrize("url", ["/", "/account/signin/", "/v1/models", "/admin/login/"])
def test_a_hostile_host_header_is_refused(client, host, url):
    response = client.get(url, HTTP_HOST=host)

    assert response.status_code == 400
    assert b"evil.com" not in response.content


# ---- sessions ------------------------------------------------------------------------------------


def test_sign_out_deletes_the_session_server_side(tenant_a):
    web = tenant_a.web()
    old_key = web.session.session_key
    web.get("/account/")

    web.post("/account/signout/")

    assert not Session.objects.filter(session_key=old_key).exists()
    replayed = Client()
    replayed.cookies["sessionid"] = old_key
    assert replayed.get("/account/").status_code == 302


def test_a_session_fixed_before_sign_in_is_not_kept(tenant_a):
    client = Client()
    client.get("/account/signin/")
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted = session.session_key
    client.cookies["sessionid"] = planted

    client.post(
        "/account/signin/",
        {"username": tenant_a.user.email, "password": "correct horse battery"},
    )

    assert client.cookies["sessionid"].value != planted
    assert client.get("/account/").status_code == 200


# ---- cookie flags under production settings ------------------------------------------------------

PRODUCTION_COOKIE_PROBE = """
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
plain = "django.contrib.staticfiles.storage.StaticFilesStorage"  # no collectstatic here
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": plain}}).enable()
c = Client()
r = c.get("/account/signin/", secure=True, HTTP_HOST="example.com")
cookie = r.cookies["csrftoken"]
print(r.status_code, bool(cookie["secure"]), cookie["samesite"])
print(settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY,
      settings.SESSION_COOKIE_SAMESITE, settings.CSRF_COOKIE_SECURE,
      settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS >= 31536000)
insecure = c.get("/account/signin/", HTTP_HOST="example.com")
print(insecure.status_code, insecure.get("Location", ""))
"""


def test_cookies_are_secure_under_production_settings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60 + "production-secret",
        "OPENPROVIDER_ENCRYPTION_KEY": "y" * 60 + "production-encryption",
        "ALLOWED_HOSTS": "example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PRODUCTION_COOKIE_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    lines = result.stdout.strip().split("\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert lines[0] == "200 True Lax"
    assert lines[1] == "True True Lax True True True"
    assert lines[2] == "301 https://example.com/account/signin/"


@pytest.fixture
def superuser_client_factory(db):
    from accounts.models import User

    user = User.objects.create_superuser("root@example.com", password="correct horse battery")

    def make(**kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


def test_the_signed_in_session_routes_are_all_session_classified():
    """Keeps this module's URLconf walk in step with the inventory's classification."""
    site = {r for r in _site_routes() if not is_admin(r)}
    assert {r for r, kind in ROUTES.items() if kind == SESSION} <= site

"""Where keys could surface besides upstream faults: admin pages and history,
provider setup pages and API answers, error emails, client-chosen
upstream hosts and provider redirects to another origin."""

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail

from accounts.models import User
from catalog.services import catalog_sync, provider_check
from providers.models import ProviderCredential
from tests.gateway.loopback_http import LoopbackServer, reply
from tests.security.conftest import canary
from tests.security.leaks import LeakDetector

pytestmark = pytest.mark.django_db

ADMIN = "/admin/providers/providercredential/"


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@example.com", password="correct horse battery")


@pytest.fixture
def admin_web(superuser):
    from django.test import Client

    client = Client()
    client.force_login(superuser)
    return client


def _change_form(credential: ProviderCredential, **extra: str) -> dict[str, str]:
    return {
        "workspace": str(credential.workspace_id),
        "provider": credential.provider,
        "name": credential.name,
        "base_url": credential.base_url,
        "account_id": "",
        "enabled": "on",
        **extra,
    }


def test_admin_pages_and_history_never_show_a_key(
    tenant_a, admin_web, leak_detector: LeakDetector, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    replacement = canary("replacement")
    leak_detector.register(tenant_a.provider_key, tenant_a.api_key_plaintext, replacement)
    pk = tenant_a.credential.pk

    changed = admin_web.post(
        f"{ADMIN}{pk}/change/", _change_form(tenant_a.credential, replace_key=replacement)
    )
    assert changed.status_code == 302
    refused = admin_web.post(  # a failed validation re-renders the form: no value echoed
        f"{ADMIN}{pk}/change/", _change_form(tenant_a.credential, replace_key=replacement[:3])
    )
    assert refused.status_code in (200, 302)
    for url in (
        ADMIN,
        f"{ADMIN}?q=relay",
        f"{ADMIN}{pk}/change/",
        f"{ADMIN}{pk}/history/",
        f"{ADMIN}{pk}/delete/",
        "/admin/catalog/catalogmodel/",
        f"/admin/catalog/catalogmodel/{tenant_a.chat_model.pk}/change/",
        "/admin/accounts/apikey/",
        f"/admin/accounts/apikey/{tenant_a.api_key.pk}/change/",
        "/admin/accounts/workspace/",
        f"/admin/accounts/workspace/{tenant_a.workspace.pk}/change/",
        "/admin/",
    ):
        assert admin_web.get(url).status_code == 200, url
    admin_web.post(f"{ADMIN}{pk}/delete/", {"post": "yes"})

    assert ProviderCredential.objects.filter(pk=pk).count() == 0
    messages = list(LogEntry.objects.values_list("change_message", flat=True))
    assert any("Replace key" in message for message in messages)  # the field name only
    leak_detector.assert_clean()


def test_provider_setup_pages_and_api_answers_never_show_a_key(
    tenant_a, leak_detector: LeakDetector, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the queued sync runs (and fails: no such host)
    new_key = canary("saved-through-the-page")
    leak_detector.register(tenant_a.provider_key, new_key)
    web = tenant_a.web()

    with django_capture_on_commit_callbacks(execute=True):
        saved = web.post(
            "/account/providers/groq/save", {"form_key": "groq", "name": "", "api_key": new_key}
        )
        refused = web.post(
            "/account/providers/custom/save",
            {"form_key": "custom", "name": "bad name!", "api_key": new_key, "base_url": "x"},
        )
    assert saved.status_code == 302
    assert refused.status_code == 400
    assert [name for name, _ in leak_detector.task_messages] == [
        "catalog.tasks.catalog_sync_credential_task"
    ]
    for url in ("/account/providers/", "/account/", "/models/", "/chat/", "/playground/"):
        assert web.get(url).status_code == 200
    api = tenant_a.api()
    for url in ("/v1/key", "/v1/models", "/v1/providers/status"):
        assert api.get(url).status_code == 200
    assert web.get("/docs/").status_code == 200

    leak_detector.assert_clean()


def test_an_api_key_is_shown_once_and_then_only_by_prefix(tenant_a, leak_detector):
    """The page after the create holds the key; nothing after it, nothing stored."""
    web = tenant_a.web()
    created = web.post("/account/keys/", {"name": "ci"}, follow=True)
    plaintext = _created_key(created.content.decode())
    leak_detector.responses.clear()  # the one-time create answer is the allowed place
    leak_detector.register(plaintext)

    web.get("/account/keys/")
    web.get("/account/")

    leak_detector.assert_clean()


def _created_key(page: str) -> str:
    return max(re.findall(r"opk_live_[A-Za-z0-9_-]+", page), key=len)


# ---- error emails --------------------------------------------------------------------------------


@pytest.fixture
def error_mail(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.DEBUG = False
    mail.outbox.clear()


def _crash_on_save(self: ProviderCredential, *args: Any, **kwargs: Any) -> None:
    raise RuntimeError("database went away")


def test_a_crash_while_saving_a_provider_key_mails_no_key(
    tenant_a, leak_detector: LeakDetector, error_mail, monkeypatch
):
    key = canary("crash-in-form")  # made at run time: the traceback shows test source lines
    leak_detector.register(key, tenant_a.provider_key)
    monkeypatch.setattr(ProviderCredential, "save", _crash_on_save)

    response = tenant_a.web(raise_request_exception=False).post(
        "/account/providers/groq/save", {"form_key": "groq", "api_key": key}
    )

    assert response.status_code == 500
    assert len(mail.outbox) == 1
    assert "api_key" in mail.outbox[0].body
    leak_detector.assert_clean()


def test_a_crash_in_the_admin_key_form_mails_no_key(
    tenant_a, admin_web, leak_detector: LeakDetector, error_mail, monkeypatch
):
    key = canary("crash-in-admin")
    leak_detector.register(key, tenant_a.provider_key)
    monkeypatch.setattr(ProviderCredential, "save", _crash_on_save)
    admin_web.raise_request_exception = False

    response = admin_web.post(
        f"{ADMIN}{tenant_a.credential.pk}/change/",
        _change_form(tenant_a.credential, replace_key=key),
    )

    assert response.status_code == 500
    assert len(mail.outbox) == 1
    assert "replace_key" in mail.outbox[0].body
    leak_detector.assert_clean()


def test_a_crash_in_a_v1_view_mails_no_key(
    tenant_a, leak_detector: LeakDetector, error_mail, monkeypatch, upstream
):
    leak_detector.register(tenant_a.api_key_plaintext, tenant_a.provider_key)

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr("gateway.api.viewsets.status.provider_status", crash)
    client = tenant_a.api()
    client.raise_request_exception = False
    response = client.get("/v1/providers/status")

    assert response.status_code == 500
    assert len(mail.outbox) == 1
    leak_detector.assert_clean()


# ---- the client cannot choose the upstream -------------------------------------------------------

HOSTILE_FIELDS = {
    "api_base": "https://evil.test/v1",
    "base_url": "https://evil.test/v1",
    "provider_url": "https://evil.test/v1",
    "custom_llm_provider": "openai",
    "headers": {"Authorization": "Bearer attacker", "Host": "evil.test"},
    "extra_headers": {"X-Base-URL": "https://evil.test"},
    "api_key": "sk-attacker-supplied",
}
HOSTILE_HEADERS = {
    "HTTP_X_BASE_URL": "https://evil.test/v1",
    "HTTP_X_API_BASE": "https://evil.test/v1",
    "HTTP_X_FORWARDED_HOST": "evil.test",
}


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": 1}),
        ("/v1/images/generations", {"prompt": "a cat"}),
        ("/v1/audio/speech", {"input": "hello", "voice": "alloy"}),
    ],
)
def test_client_supplied_upstream_urls_and_headers_are_never_used(tenant_a, upstream, route, body):
    model = {
        "/v1/chat/completions": tenant_a.chat_model,
        "/v1/images/generations": tenant_a.image_model,
        "/v1/audio/speech": tenant_a.speech_model,
    }[route]
    payload = {"model": model.public_id, **body, **HOSTILE_FIELDS}
    if payload.get("stream") == 1:
        payload["stream"] = True

    response = tenant_a.api().post(route, payload, format="json", **HOSTILE_HEADERS)
    if response.streaming:
        b"".join(response.streaming_content)

    assert response.status_code in (200, 400), response.content[:300]
    for label, _, auth in upstream.calls:
        assert label == "a"
        assert auth == f"Bearer {tenant_a.provider_key}"


# ---- a redirect to another origin is not followed ------------------------------------------------


class RecordingServer(LoopbackServer):
    """LoopbackServer that also answers POST (the chat, image and speech calls)."""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        handler = super()._handler()

        class Handler(handler):  # type: ignore[valid-type, misc]
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.do_GET()

        return Handler


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_provider_redirect_to_another_origin_is_not_followed(tenant_a, status, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with RecordingServer(lambda _s, h: reply(h, 200, {}, b"{}")) as thief:
        target = thief.url("/v1/steal")
        with RecordingServer(lambda _s, h: reply(h, status, {"Location": target})) as provider:
            ProviderCredential.objects.filter(pk=tenant_a.credential.pk).update(
                base_url=provider.url("/v1")
            )
            body = {
                "model": tenant_a.chat_model.public_id,
                "messages": [{"role": "user", "content": "hi"}],
            }
            chat = tenant_a.api().post("/v1/chat/completions", body, format="json")
            credential = ProviderCredential.objects.get(pk=tenant_a.credential.pk)
            catalog_sync(credential=credential)
            provider_check(credential=credential)

        assert chat.status_code == 502
        assert len(provider.hits) >= 3
        assert provider.hits[0].headers["authorization"] == f"Bearer {tenant_a.provider_key}"
        assert thief.hits == []
        assert target not in json.dumps(chat.json())

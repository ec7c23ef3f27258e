"""A canary provider key and a canary opk_live_ key pushed through every upstream
fault of every workflow never show up anywhere the leak detector looks (logs at DEBUG,
responses, mail, cache, every table), nor in the pages and API answers that render the
stored errors afterwards."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from catalog.models import CatalogModel
from catalog.services import catalog_sync_credential, provider_check
from providers.models import ProviderCredential
from providers.registry import PROVIDERS
from tests.security.conftest import Tenant, canary
from tests.security.leaks import LeakDetector

pytestmark = pytest.mark.django_db

A_HOST = re.compile(r"https://a\.relay\.test/.*")


def _echo(request: Any) -> str:
    """What a careless provider puts in an error: the key, the header and the URL it got."""
    auth = request.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ")
    return f"Invalid API key {key} (header {auth!r}) for {request.url}"


def _json_error(status: int) -> Callable[[Any], tuple[int, dict[str, str], bytes]]:
    def respond(request: Any) -> tuple[int, dict[str, str], bytes]:
        body = {"error": {"message": _echo(request), "type": "invalid_request_error"}}
        headers = {"Content-Type": "application/json"}
        if status == 429:
            headers["Retry-After"] = "1"
        return status, headers, json.dumps(body).encode()

    return respond


def _html_502(request: Any) -> tuple[int, dict[str, str], bytes]:
    page = f"<html><body><h1>502 Bad Gateway</h1><pre>{_echo(request)}</pre></body></html>"
    return 502, {"Content-Type": "text/html"}, page.encode()


def _raise(kind: type[Exception]) -> Callable[[Any], Any]:
    def respond(request: Any) -> Any:
        raise kind(_echo(request))

    return respond


def _malformed(request: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b'{"choices": [' + _echo(request).encode()


FAULTS: dict[str, Callable[[Any], Any]] = {
    **{str(status): _json_error(status) for status in (400, 401, 403, 404, 429, 500, 503)},
    "html-502": _html_502,
    "timeout": _raise(requests.ReadTimeout),
    "connection-error": _raise(requests.ConnectionError),
    "malformed-json": _malformed,
}


def _chat(t: Tenant) -> None:
    body = {"model": t.chat_model.public_id, "messages": [{"role": "user", "content": "hi"}]}
    t.api().post("/v1/chat/completions", body, format="json")


def _chat_stream(t: Tenant) -> None:
    body = {
        "model": t.chat_model.public_id,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    response = t.api().post("/v1/chat/completions", body, format="json")
    if response.streaming:
        b"".join(response.streaming_content)


def _console_chat(t: Tenant) -> None:
    data = {"content": "hi", "model": t.chat_model.public_id}
    response = t.web().post("/chat/send", data, HTTP_ACCEPT="text/event-stream")
    if response.streaming:
        b"".join(response.streaming_content)


def _images(t: Tenant) -> None:
    body = {"model": t.image_model.public_id, "prompt": "a cat"}
    t.api().post("/v1/images/generations", body, format="json")


def _speech(t: Tenant) -> None:
    body = {"model": t.speech_model.public_id, "input": "hello", "voice": "alloy"}
    t.api().post("/v1/audio/speech", body, format="json")


def _playground_image(t: Tenant) -> None:
    t.web().post("/playground/image", {"model": t.image_model.public_id, "prompt": "a cat"})


def _models_sync(t: Tenant) -> None:
    catalog_sync_credential(credential=t.credential)


def _status_check(t: Tenant) -> None:
    provider_check(credential=t.credential)


FLOWS: dict[str, Callable[[Tenant], None]] = {
    "chat": _chat,
    "chat-stream": _chat_stream,
    "console-chat": _console_chat,
    "images": _images,
    "playground-image": _playground_image,
    "speech": _speech,
    "models-sync": _models_sync,
    "status-check": _status_check,
}


def _render_everything_the_tenant_can_see(t: Tenant) -> None:
    """Stored errors come back later through these; each response is scanned."""
    api, web = t.api(), t.web()
    for url in ("/v1/models", "/v1/providers/status", "/v1/key"):
        api.get(url)
    for log in t.workspace.request_logs.all():
        api.get("/v1/generation", {"id": log.pk})
    for url in ("/account/providers/", "/account/", "/account/usage/", "/models/", "/chat/"):
        web.get(url)
    for conversation in t.workspace.conversations.all():
        web.get(f"/chat/{conversation.pk}/")


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_no_upstream_fault_leaks_a_key(
    flow, fault, tenant_a, leak_detector: LeakDetector, http_mock, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    leak_detector.register(tenant_a.provider_key, tenant_a.api_key_plaintext)
    for method in ("GET", "POST"):
        http_mock.add_callback(method, A_HOST, callback=FAULTS[fault])

    FLOWS[flow](tenant_a)
    _render_everything_the_tenant_can_see(tenant_a)

    assert http_mock.calls, "the fault was never reached"
    leak_detector.assert_clean()


def test_the_detector_finds_a_leak(tenant_a, leak_detector: LeakDetector, caplog):
    """The detector itself: a key logged at DEBUG, echoed in a body or stored is found."""
    import logging

    from django.http import HttpResponse

    leak_detector.register(tenant_a.provider_key)
    logging.getLogger("some.module").debug("key=%s", tenant_a.provider_key)
    leak_detector.record_response("GET /x", HttpResponse(tenant_a.provider_key))
    tenant_a.conversation.title = tenant_a.provider_key[:200]
    tenant_a.conversation.save()
    cache.set("leak-detector-probe", {"nested": [tenant_a.provider_key]})
    mail.send_mail("probe", f"key {tenant_a.provider_key}", "a@example.com", ["b@example.com"])

    places = "\n".join(leak_detector.places())

    assert "log record of 'some.module'" in places
    assert "response to GET /x" in places
    assert "database accounts.Conversation.title" in places
    assert "leak-detector-probe" in places  # locmem, or the Redis keyspace under REDIS_URL
    assert "mail 0 (probe)" in places


KEYED_CHAT_PROVIDERS = sorted(
    spec.slug
    for spec in PROVIDERS.values()
    if spec.enabled and spec.auth != "none" and "text" in spec.categories and spec.slug != "custom"
)
ANY_HTTPS = re.compile(r"https://.*")


def _echo_every_header(request: Any) -> str:
    """Echo every header and the URL, whatever the adapter authenticates with."""
    headers = " ".join(f"{name}: {value}" for name, value in request.headers.items())
    return f"Invalid API key. You sent {headers} to {request.url}"


ADAPTER_FAULTS: dict[str, Callable[[Any], Any]] = {
    "401": lambda r: (
        401,
        {"Content-Type": "application/json"},
        json.dumps({"error": {"message": _echo_every_header(r)}}).encode(),
    ),
    "400": lambda r: (
        400,
        {"Content-Type": "application/json"},
        json.dumps([{"error": {"message": _echo_every_header(r), "code": 400}}]).encode(),
    ),
    "html-502": lambda r: (
        502,
        {"Content-Type": "text/html"},
        f"<p>{_echo_every_header(r)}</p>".encode(),
    ),
    "malformed-json": lambda r: (200, {}, _echo_every_header(r).encode()),
}


@pytest.mark.parametrize("fault", sorted(ADAPTER_FAULTS))
@pytest.mark.parametrize("provider", KEYED_CHAT_PROVIDERS)
def test_no_adapter_leaks_its_key_on_chat_faults(
    provider, fault, tenant_a, leak_detector: LeakDetector, http_mock
):
    """No leak for every keyed provider adapter (the matrix above runs every workflow on one)."""
    key = canary(provider)
    leak_detector.register(key, tenant_a.api_key_plaintext)
    credential = ProviderCredential.objects.create(
        workspace=tenant_a.workspace,
        provider=provider,
        name=f"{provider}-leak",
        api_key=key,
        account_id="acc0123456789" if PROVIDERS[provider].needs_account_id else "",
    )
    model = CatalogModel.objects.create(
        workspace=tenant_a.workspace,
        credential=credential,
        provider=provider,
        public_id=f"{credential.name}/m1",
        upstream_id="m1",
        name="m1",
        category="text",
        capabilities={"streaming": True},
        free_evidence="test",
        last_seen=timezone.now(),
        updated_at=timezone.now(),
    )
    for method in ("GET", "POST"):
        http_mock.add_callback(method, ANY_HTTPS, callback=ADAPTER_FAULTS[fault])
    body = {"model": model.public_id, "messages": [{"role": "user", "content": "hi"}]}

    tenant_a.api().post("/v1/chat/completions", body, format="json")
    stream = tenant_a.api().post("/v1/chat/completions", {**body, "stream": True}, format="json")
    if stream.streaming:
        b"".join(stream.streaming_content)
    provider_check(credential=credential)
    _render_everything_the_tenant_can_see(tenant_a)

    assert http_mock.calls
    assert any(key in str(call.request.headers) + call.request.url for call in http_mock.calls)
    leak_detector.assert_clean()

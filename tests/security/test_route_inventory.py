"""Every URL pattern is classified, and every route that names an
object (in its path, query or body) answers another workspace's id exactly like a missing one.

The tables below are the contract: a new route fails here until it is classified, and a new
route with an object id fails until it has an isolation case.
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiKey, Conversation, Message, SavedModel
from catalog.models import CatalogModel
from gateway.media.images import ImageData, generated_image_store
from gateway.models import GeneratedImage, RequestLog, StoredResponse
from providers.models import ProviderCredential
from tests.fakeprovider import tiny_wav
from tests.security.conftest import Tenant, _model

pytestmark = pytest.mark.django_db

PUBLIC, SESSION, KEY, STAFF = "public", "session", "key", "staff"

# Every route outside the admin site, by its pattern: who may call it.
ROUTES: dict[str, str] = {
    "": PUBLIC,
    "docs/": PUBLIC,
    "healthz": PUBLIC,
    "metrics": STAFF,  # a staff session or the operators' metrics token
    "api/schema": PUBLIC,
    "account/signin/": PUBLIC,
    "account/signup/": PUBLIC,
    "account/signout/": PUBLIC,  # POST only; signs out whoever is signed in
    "accounts/<path:rest>": PUBLIC,  # permanent redirects from the retired /accounts/ paths
    "models/": SESSION,
    "models/save": SESSION,
    "models/<path:model_id>/edit": SESSION,
    "chat/": SESSION,
    "chat/send": SESSION,
    "chat/<int:pk>/": SESSION,
    "chat/<int:pk>/rename": SESSION,
    "chat/<int:pk>/delete": SESSION,
    "playground/": SESSION,
    "playground/image": SESSION,
    "playground/analyze": SESSION,
    "playground/speech": SESSION,
    "account/": SESSION,
    "account/providers/": SESSION,
    "account/providers/<slug:slug>/save": SESSION,
    "account/credentials/<int:pk>/sync": SESSION,
    "account/credentials/<int:pk>/status": SESSION,
    "account/credentials/<int:pk>/limits": SESSION,
    "account/credentials/<int:pk>/delete": SESSION,
    "account/saved/": SESSION,
    "account/saved/<int:pk>/delete": SESSION,
    "account/conversations/": SESSION,
    "account/usage/": SESSION,
    "account/activity/": SESSION,
    "account/keys/": SESSION,
    "account/keys/<int:key_id>/revoke/": SESSION,
    "v1/key": KEY,
    "v1/models": KEY,
    "v1/models/<path:model_id>": KEY,
    "v1/providers/status": KEY,
    "v1/chat/completions": KEY,
    "v1/responses": KEY,
    "v1/responses/<str:response_id>": KEY,
    "v1/responses/<str:response_id>/input_items": KEY,
    "v1/generation": KEY,
    "v1/images/generations": KEY,
    "v1/images/analyze": KEY,
    "v1/audio/speech": KEY,
    "v1/audio/transcriptions": KEY,
    "v1/embeddings": KEY,
    "v1/completions": KEY,
    # Public by design: the unguessable name is the capability (like OpenAI's image URLs).
    "v1/files/images/<str:name>": PUBLIC,
    "v1/^.*$": KEY,  # the 404 envelope for unknown /v1 paths; answers without a key too
}

# Path arguments that name something other than a workspace-owned row.
NOT_OBJECT_IDS = {
    "accounts/<path:rest>": "the rest of a retired path, redirected as it is to /account/",
    "account/providers/<slug:slug>/save": "a provider slug of the registry, the same for all",
    "v1/files/images/<str:name>": "a 32-character random capability name, see test below",
}


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def all_routes() -> list[tuple[str, URLPattern]]:
    return list(_walk(get_resolver()))


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


def takes_arguments(route: str) -> bool:
    return "<" in route or "(?P" in route


# ---- every route is classified -------------------------------------------------------------------


def test_every_route_is_classified():
    routes = {route for route, _ in all_routes() if not is_admin(route)}

    assert sorted(routes - ROUTES.keys()) == [], "classify these routes in ROUTES"
    assert sorted(ROUTES.keys() - routes) == [], "these classified routes no longer exist"


def test_every_admin_route_belongs_to_the_admin_site():
    admin_routes = [(route, p) for route, p in all_routes() if is_admin(route)]

    assert admin_routes
    for route, pattern in admin_routes:
        module = pattern.lookup_str
        assert module.startswith("django.") or ".admin" in module or "Admin" in module, route


def _sample_url(route: str) -> str:
    url = re.sub(r"<[^>]+>", "1", route)
    return "/" + url.replace("^.*$", "anything")


@pytest.mark.parametrize("route", sorted(r for r, kind in ROUTES.items() if kind == SESSION))
def test_session_routes_send_anonymous_visitors_to_sign_in(client, route):
    for method in ("get", "post"):
        response = getattr(client, method)(_sample_url(route))
        assert response.status_code == 302, (method, route)
        assert response["Location"].startswith("/account/signin/?next="), (method, route)


@pytest.mark.parametrize("route", sorted(r for r, kind in ROUTES.items() if kind == KEY))
def test_key_routes_refuse_requests_without_a_key(client, route, http_mock):
    for method in ("get", "post"):
        response = getattr(client, method)(_sample_url(route))
        if route == "v1/^.*$":
            assert response.status_code == 404
            continue
        assert response.status_code == 401, (method, route)
        assert response["WWW-Authenticate"].startswith("Bearer"), route
        assert response.json()["error"]["code"] == "missing_api_key"
    assert len(http_mock.calls) == 0


def test_key_routes_refuse_a_signed_in_browser_without_a_key(tenant_a, http_mock):
    """The console's session does not open /v1."""
    browser = tenant_a.web()
    for route, kind in ROUTES.items():
        if kind == KEY and route != "v1/^.*$":
            assert browser.get(_sample_url(route)).status_code == 401, route
            assert browser.post(_sample_url(route)).status_code == 401, route
    assert len(http_mock.calls) == 0


@pytest.mark.parametrize("route", sorted(r for r, kind in ROUTES.items() if kind == STAFF))
def test_staff_routes_refuse_visitors_users_and_api_keys(client, tenant_a, route):
    """Operator endpoints are closed to workspace users and their keys."""
    for who in (client, tenant_a.web(), tenant_a.api()):
        for method in ("get", "post"):
            response = getattr(who, method)(_sample_url(route))
            assert response.status_code in (401, 403, 404, 405), (method, route)


def test_admin_routes_need_staff(client, tenant_a):
    """Over the whole admin site: anonymous and plain users get the login."""
    signed_in = tenant_a.web()
    for route, _ in all_routes():
        if not is_admin(route) or route in ("admin/login/", "admin/logout/"):
            continue
        url = _sample_url(route)
        for who in (client, signed_in):
            response = who.get(url)
            assert response.status_code == 302, route
            assert response["Location"].startswith("/admin/login/"), route
            response = who.post(url, {"action": "delete_selected", "_selected_action": ["1"]})
            assert response.status_code in (302, 403), route
            if response.status_code == 302:
                assert response["Location"].startswith("/admin/login/"), route


# ---- ids in the path -----------------------------------------------------------------------------


def _conversation(t: Tenant) -> int:
    return t.conversation.pk


def _credential(t: Tenant) -> int:
    return t.credential.pk


def _saved(t: Tenant) -> int:
    return t.saved.pk


def _api_key(t: Tenant) -> int:
    return t.api_key.pk


def _chat_model(t: Tenant) -> str:
    return t.chat_model.public_id


def _stored_response(t: Tenant) -> str:
    return t.extra["stored_response"].id


# route -> (client kind, the victim's id for that route, a well-formed id that does not exist)
PATH_ID_CASES: dict[str, tuple[str, Callable[[Tenant], Any], Any]] = {
    "chat/<int:pk>/": (SESSION, _conversation, 987654),
    "chat/<int:pk>/rename": (SESSION, _conversation, 987654),
    "chat/<int:pk>/delete": (SESSION, _conversation, 987654),
    "account/credentials/<int:pk>/sync": (SESSION, _credential, 987654),
    "account/credentials/<int:pk>/status": (SESSION, _credential, 987654),
    "account/credentials/<int:pk>/limits": (SESSION, _credential, 987654),
    "account/credentials/<int:pk>/delete": (SESSION, _credential, 987654),
    "account/saved/<int:pk>/delete": (SESSION, _saved, 987654),
    "account/keys/<int:key_id>/revoke/": (SESSION, _api_key, 987654),
    "v1/models/<path:model_id>": (KEY, _chat_model, "relay/chat-nobody"),
    "v1/responses/<str:response_id>": (KEY, _stored_response, "resp_nobody0000"),
    "v1/responses/<str:response_id>/input_items": (KEY, _stored_response, "resp_nobody0000"),
    "models/<path:model_id>/edit": (SESSION, _chat_model, "relay/chat-nobody"),
}
METHODS = ("get", "post", "put", "patch", "delete")
REQUEST_ID = re.compile(rb"gen-[A-Za-z0-9_-]+")
CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')  # masked afresh per page


def test_every_route_with_an_object_id_has_an_isolation_case():
    with_ids = {r for r, _ in all_routes() if not is_admin(r) and takes_arguments(r)}
    with_ids -= {"v1/^.*$"}

    missing = with_ids - PATH_ID_CASES.keys() - NOT_OBJECT_IDS.keys()
    assert sorted(missing) == [], "add an isolation case to PATH_ID_CASES"
    assert sorted(PATH_ID_CASES.keys() - with_ids) == []


def workspace_rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Everything the workspace owns, as plain values (the provider key decrypted)."""
    ws = tenant.workspace
    querysets = {
        "conversations": Conversation.objects.filter(workspace=ws),
        "messages": Message.objects.filter(conversation__workspace=ws),
        "saved": SavedModel.objects.filter(workspace=ws),
        "api_keys": ApiKey.objects.filter(workspace=ws),
        "catalog": CatalogModel.objects.filter(workspace=ws),
        "logs": RequestLog.objects.filter(workspace=ws),
        "images": GeneratedImage.objects.filter(workspace=ws),
        "stored_responses": StoredResponse.objects.filter(workspace=ws),
    }
    rows = {name: [model_to_dict(o) for o in qs.order_by("pk")] for name, qs in querysets.items()}
    rows["credentials"] = [
        {**model_to_dict(c), "api_key": c.api_key}
        for c in ProviderCredential.objects.filter(workspace=ws).order_by("pk")
    ]
    return rows


def _url(route: str, object_id: Any) -> str:
    return "/" + re.sub(r"<[^>]+>", str(object_id), route)


def _call(client: Any, method: str, url: str) -> Any:
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, {}, content_type="application/json")


def _normalized(body: bytes, object_id: Any, route: str | None = None) -> bytes:
    """The body with the request id, the requested path and the id itself made neutral."""
    if route is not None:
        body = body.replace(_url(route, object_id).encode(), b"<path>")
    if len(str(object_id)) > 3:  # a short number would also match unrelated text
        body = body.replace(str(object_id).encode(), b"<id>")
    return CSRF_TOKEN.sub(b"<csrf>", REQUEST_ID.sub(b"<rid>", body))


@pytest.mark.parametrize("route", sorted(PATH_ID_CASES))
def test_another_workspaces_id_is_answered_like_a_missing_one(
    route, tenant_a, tenant_b, upstream, django_capture_on_commit_callbacks
):
    kind, victim_id, missing_id = PATH_ID_CASES[route]
    caller = tenant_a.web() if kind == SESSION else tenant_a.api()
    before = workspace_rows(tenant_b)
    accepted = []

    with django_capture_on_commit_callbacks(execute=False) as queued:
        for method in METHODS:
            missing = _call(caller, method, _url(route, missing_id))
            if missing.status_code == 405:
                continue
            accepted.append(method)
            theirs = _call(caller, method, _url(route, victim_id(tenant_b)))
            assert missing.status_code == 404, (method, route)
            assert theirs.status_code == 404, (method, route)
            assert _normalized(theirs.content, victim_id(tenant_b), route) == _normalized(
                missing.content, missing_id, route
            ), (method, route)

    assert accepted, route
    assert workspace_rows(tenant_b) == before
    assert queued == []  # no sync or check queued for B's credential
    assert upstream.calls == []


def test_generated_image_names_are_random_192_bit_capabilities(tenant_a):
    """The name is the only protection of an image URL (NOT_OBJECT_IDS)."""
    image = ImageData(content=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    names = {
        generated_image_store(workspace=tenant_a.workspace, image=image).name for _ in range(50)
    }

    assert len(names) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}\.png", name) for name in names)


def test_an_unknown_or_malformed_image_name_is_not_found(client):
    assert client.get("/v1/files/images/" + "A" * 32 + ".png").status_code == 404
    assert client.get("/v1/files/images/..%2F..%2Fsettings.py").status_code == 404


# ---- ids in the query or the body ----------------------------------------------------------------


def test_generation_of_another_workspace_is_answered_like_a_missing_one(tenant_a, tenant_b):
    theirs_id, missing_id = tenant_b.request_log.pk, "gen-nobody-000000000000"

    theirs = tenant_a.api().get("/v1/generation", {"id": theirs_id})
    missing = tenant_a.api().get("/v1/generation", {"id": missing_id})

    assert theirs.status_code == missing.status_code == 404
    assert _normalized(theirs.content, theirs_id) == _normalized(missing.content, missing_id)


# Session POST routes whose body names an object: (route, body naming B's object).
BODY_ID_CASES: dict[str, Callable[[Tenant], dict[str, Any]]] = {
    "chat/send": lambda b: {
        "conversation": b.conversation.pk,
        "content": "hi",
        "model": "relay/shared-chat",
    },
    "models/save": lambda b: {"model_id": b.chat_model.public_id},
    "playground/image": lambda b: {"model": b.image_model.public_id, "prompt": "a cat"},
    "playground/analyze": lambda b: {
        "model": b.chat_model.public_id,
        "prompt": "what?",
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
    },
    "playground/speech": lambda b: {"model": b.speech_model.public_id, "input": "hello"},
    "account/providers/<slug:slug>/save": lambda b: {
        "form_key": f"cred{b.credential.pk}",
        "name": "relay",
        "api_key": "sk-replacement-by-a",
        "base_url": "https://a.relay.test/v1",
    },
}
# Key POST routes whose body names a model: (route, body naming a model only B has).
API_BODY_CASES: dict[str, Callable[[Tenant], dict[str, Any]]] = {
    "v1/chat/completions": lambda b: {
        "model": b.chat_model.public_id,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "v1/responses": lambda b: {"model": b.chat_model.public_id, "input": "hi"},
    "v1/images/generations": lambda b: {"model": b.image_model.public_id, "prompt": "a cat"},
    "v1/images/analyze": lambda b: {
        "model": b.chat_model.public_id,
        "prompt": "what?",
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
    },
    "v1/audio/speech": lambda b: {
        "model": b.speech_model.public_id,
        "input": "hello",
        "voice": "alloy",
    },
    "v1/embeddings": lambda b: {"model": b.extra["embedding_model"].public_id, "input": "hi"},
    "v1/audio/transcriptions": lambda b: {
        "model": b.extra["transcription_model"].public_id,
        "file": SimpleUploadedFile("hello.wav", tiny_wav(), content_type="audio/wav"),
    },
    "v1/completions": lambda b: {"model": b.chat_model.public_id, "prompt": "hi"},
}
MULTIPART_ROUTES = {"v1/audio/transcriptions"}
NO_OBJECT_IN_BODY = {"account/signin/", "account/signup/", "account/signout/", "account/keys/"}


def test_every_post_route_with_a_body_has_an_isolation_case_or_none_to_make():
    posting = {r for r, k in ROUTES.items() if k in (SESSION, KEY)} - PATH_ID_CASES.keys()
    posting -= {r for r in posting if _is_read_only(r)}

    covered = BODY_ID_CASES.keys() | API_BODY_CASES.keys() | NO_OBJECT_IN_BODY
    assert sorted(posting - covered) == []


def _is_read_only(route: str) -> bool:
    return (route.endswith("/") and not route.startswith("account/keys")) or route in {
        "v1/key",
        "v1/models",
        "v1/providers/status",
        "v1/generation",
        "v1/^.*$",
    }


@pytest.mark.parametrize("route", sorted(BODY_ID_CASES))
def test_a_session_post_naming_another_workspaces_object_changes_nothing_of_theirs(
    route, tenant_a, tenant_b, upstream, django_capture_on_commit_callbacks
):
    before = workspace_rows(tenant_b)
    url = "/" + route.replace("<slug:slug>", "custom")

    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.web().post(url, BODY_ID_CASES[route](tenant_b))

    assert response.status_code in (302, 400, 404), response.content[:300]
    assert workspace_rows(tenant_b) == before
    assert tenant_b.provider_key not in upstream.keys_used()
    assert all(label == "a" for label, _, _ in upstream.calls)


@pytest.mark.parametrize("route", sorted(API_BODY_CASES))
def test_a_v1_call_naming_a_model_only_another_workspace_has_is_not_found(
    route, tenant_a, tenant_b, upstream
):
    """Another workspace's resources on every /v1 workflow: 404, and not one call with B's key."""
    body = API_BODY_CASES[route](tenant_b)
    form = "multipart" if route in MULTIPART_ROUTES else "json"
    response = tenant_a.api().post("/" + route, body, format=form)

    assert response.status_code in (404, 503), response.content[:300]
    assert response.json()["error"]["code"] in ("model_not_found", "no_available_model")
    assert upstream.calls == []


def test_a_model_id_both_workspaces_have_goes_through_the_callers_key(tenant_a, tenant_b, upstream):
    body = {"model": "relay/shared-chat", "messages": [{"role": "user", "content": "hi"}]}

    assert tenant_a.api().post("/v1/chat/completions", body, format="json").status_code == 200
    assert tenant_b.api().post("/v1/chat/completions", body, format="json").status_code == 200

    assert [(label, auth) for label, _, auth in upstream.calls] == [
        ("a", f"Bearer {tenant_a.provider_key}"),
        ("b", f"Bearer {tenant_b.provider_key}"),
    ]


def test_auto_routing_only_ever_uses_the_callers_credentials(tenant_a, tenant_b, upstream):
    body = {"model": "openprovider/auto-free", "messages": [{"role": "user", "content": "hi"}]}

    for _ in range(3):
        assert tenant_a.api().post("/v1/chat/completions", body, format="json").status_code == 200

    assert upstream.keys_used() == {tenant_a.provider_key}


# ---- listings ------------------------------------------------------------------------------------


def test_models_and_status_list_only_the_callers_and_never_anothers_errors(tenant_a, tenant_b):
    b_canary = "B-discovery-error-canary-7d1f"
    ProviderCredential.objects.filter(pk=tenant_b.credential.pk).update(
        state="down", state_message=b_canary, last_sync_error=b_canary
    )
    # B reads first, so a cache keyed without the workspace would serve B's rows to A.
    assert tenant_b.api().get("/v1/models").status_code == 200
    assert tenant_b.api().get("/v1/providers/status").status_code == 200

    models = tenant_a.api().get("/v1/models")
    status = tenant_a.api().get("/v1/providers/status")

    ids = {row["id"] for row in models.json()["data"]}
    assert tenant_a.chat_model.public_id in ids
    assert tenant_b.chat_model.public_id not in ids
    for response in (models, status):
        text = response.content.decode()
        assert b_canary not in text
        for their_id in ("chat-b", "paint-b", "voice-b"):
            assert their_id not in text
        assert "b.relay.test" not in text


# ---- filters and extra fields naming another workspace -------------------------------------------


def test_list_filters_naming_another_workspace_are_ignored(tenant_a, tenant_b):
    hostile = {
        "workspace": tenant_b.workspace.pk,
        "workspace_id": tenant_b.workspace.pk,
        "user": tenant_b.user.pk,
        "provider": "relay",
        "credential": tenant_b.credential.pk,
    }
    api, web = tenant_a.api(), tenant_a.web()

    answers = [
        api.get("/v1/models", hostile),
        api.get("/v1/providers/status", hostile),
        web.get("/models/", hostile),
        web.get("/account/usage/", {**hostile, "model": tenant_b.chat_model.public_id}),
        web.get("/account/conversations/", hostile),
        web.get("/account/saved/", hostile),
        web.get("/account/keys/", hostile),
    ]

    for response in answers:
        assert response.status_code in (200, 400)
        text = response.content.decode()
        assert tenant_b.chat_model.public_id not in text
        assert tenant_b.conversation.title not in text
        assert tenant_b.api_key.prefix not in text


def test_fields_naming_another_workspace_or_owner_are_ignored(tenant_a, tenant_b):
    web = tenant_a.web()
    sneaky = {"workspace": tenant_b.workspace.pk, "user": tenant_b.user.pk}

    web.post(f"/chat/{tenant_a.conversation.pk}/rename", {"title": "mine", **sneaky})
    web.post("/account/keys/", {"name": "mine", "key_hash": "0" * 64, **sneaky})
    web.post("/models/save", {"model_id": tenant_a.chat_model.public_id, **sneaky})

    tenant_a.conversation.refresh_from_db()
    assert tenant_a.conversation.workspace_id == tenant_a.workspace.pk
    assert tenant_a.conversation.title == "mine"
    created = ApiKey.objects.get(name="mine")
    assert created.workspace_id == tenant_a.workspace.pk
    assert created.key_hash != "0" * 64
    assert ApiKey.objects.filter(workspace=tenant_b.workspace).count() == 1
    assert SavedModel.objects.filter(workspace=tenant_b.workspace).count() == 1


# ---- the routes that fetch a URL the caller names ------------------------------------------------

# Every route whose input can make the server open a connection to a caller-chosen URL. They
# all go through gateway.media.safe_fetch (SSRF-guarded); a new one must be added here and tested.
SERVER_SIDE_FETCH = {"v1/images/analyze", "playground/analyze"}


def test_server_side_fetch_routes_exist_and_refuse_loopback_urls(tenant_a, upstream):
    from tests.gateway.loopback_http import image_server

    routes = {route for route, _ in all_routes()}
    assert routes >= SERVER_SIDE_FETCH
    caps = {"vision": True, "streaming": True}
    vision = _model(tenant_a.credential, "eyes-a", "vision", capabilities=caps).public_id
    with image_server(b"\x89PNG\r\n\x1a\n") as internal:
        for route in sorted(SERVER_SIDE_FETCH):
            data = {"model": vision, "prompt": "what?", "image_url": internal.url("/x.png")}
            if route.startswith("v1/"):
                response = tenant_a.api().post("/" + route, data, format="json")
            else:
                response = tenant_a.web().post("/" + route, data)
            assert response.status_code == 400, (route, response.content[:200])
            assert json.loads(response.content)["error"]["code"] == "invalid_image_url"
        assert internal.hits == []
    assert upstream.calls == []

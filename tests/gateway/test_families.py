"""Family ids are model ids: a request for a family routes across every route serving it."""

import json

import pytest
import responses
from django.core.cache import cache

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from gateway.routing.quota import quota_reserve
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    CHAT_CAPS,
    HELLO,
    add_stream,
    data_events,
    groq_completion,
    make_credential,
    make_model,
)

pytestmark = pytest.mark.django_db

FAMILY = "llama-3.3-70b-instruct"
LLAMA = "meta-llama/llama-3.3-70b-instruct"


def chat_url(name: str) -> str:
    return f"https://{name}.provider.test/v1/chat/completions"


@pytest.fixture
def routes(workspace):
    """Four routes of one family: Groq under its own id, three OpenAI-compatible relays."""
    groq = make_credential(workspace, "groq", "groq", limits={"rpm": 1})
    found = {"spent": make_model(groq, "llama-3.3-70b-versatile", family=FAMILY)}
    for name in ("a-failing", "b-cooling", "c-good"):
        credential = make_credential(
            workspace, "custom", name, base_url=f"https://{name}.provider.test/v1"
        )
        found[name] = make_model(credential, LLAMA, family=FAMILY, context_length=8192 * 4)
    make_model(make_credential(workspace, "custom", "other"), "other-model", family="other")
    return found


def family_request(**extra):
    return {"model": FAMILY, "messages": HELLO, **extra}


def test_a_family_request_skips_the_spent_route_falls_back_past_5xx_and_429(
    chat_call, routes, http_mock
):
    quota_reserve(routes["spent"])  # its one request this minute is gone
    http_mock.add(responses.POST, chat_url("a-failing"), status=500, body="oops")
    http_mock.add(
        responses.POST,
        chat_url("b-cooling"),
        status=429,
        json=provider_fixture("groq/error_429.json"),
    )
    http_mock.add(responses.POST, chat_url("c-good"), json=groq_completion(content="Hi"))

    result = chat_call(family_request())

    good = routes["c-good"]
    assert result.body["model"] == good.public_id
    assert result.body["family"] == FAMILY
    assert result.headers["x-openprovider-provider"] == "c-good"
    assert result.body["choices"][0]["message"]["content"] == "Hi"
    log = RequestLog.objects.get(pk=result.body["id"])
    assert log.requested_model == FAMILY
    assert [(a["model"], a["status"]) for a in log.attempts] == [
        (routes["a-failing"].public_id, "upstream"),
        (routes["b-cooling"].public_id, "rate_limited"),
        (good.public_id, "ok"),
    ]
    assert "api.groq.com" not in {call.request.url.split("/")[2] for call in http_mock.calls}

    # The next family request goes straight to the route that works: the cooling one is
    # skipped, the spent one waits for its minute, the failing one ranks behind.
    again = chat_call(family_request())
    assert again.body["model"] == good.public_id
    assert [c.request.url for c in http_mock.calls][-1:] == [chat_url("c-good")]
    assert len(http_mock.calls) == 4


def test_every_route_of_the_family_cooling_or_spent_is_429(chat_call, routes, http_mock):
    quota_reserve(routes["spent"])
    for name in ("a-failing", "b-cooling", "c-good"):
        http_mock.add(
            responses.POST, chat_url(name), status=429, json={}, headers={"retry-after": "9"}
        )

    with pytest.raises(ApiError) as raised:
        chat_call(family_request())
    assert raised.value.status_code == 429

    with pytest.raises(ApiError) as again:
        chat_call(family_request())
    assert again.value.code == "rate_limited_upstream"
    assert len(http_mock.calls) == 3  # the second refusal called nobody


@pytest.mark.parametrize(
    ("provider", "called"),
    [
        ({"order": ["c-good", "a-failing"]}, ["c-good"]),
        ({"only": ["b-cooling"]}, ["b-cooling"]),
        ({"ignore": ["a-failing", "b-cooling"]}, ["c-good"]),
    ],
)
def test_provider_preferences_apply_to_a_familys_routes(
    chat_call, routes, http_mock, provider, called
):
    quota_reserve(routes["spent"])
    for name in ("a-failing", "b-cooling", "c-good"):
        http_mock.add(responses.POST, chat_url(name), json=groq_completion())

    result = chat_call(family_request(provider=provider))

    assert [c.request.url for c in http_mock.calls] == [chat_url(n) for n in called]
    assert result.body["model"] == routes[called[0]].public_id


def test_a_streamed_family_request_names_the_route_and_the_family(chat_call, routes, http_mock):
    quota_reserve(routes["spent"])
    http_mock.add(responses.POST, chat_url("a-failing"), status=503, body="down")
    add_stream(http_mock, chat_url("b-cooling"), provider_fixture("groq/chat_stream.sse"))

    stream = chat_call(family_request(stream=True))
    chunks = [c for c in data_events(b"".join(stream)) if c != "[DONE]"]

    assert {c["model"] for c in chunks} == {routes["b-cooling"].public_id}
    assert {c["family"] for c in chunks} == {FAMILY}


def test_a_family_routes_vision_requests_to_the_routes_that_see(
    chat_call, routes, workspace, http_mock
):
    seeing = make_credential(workspace, "custom", "z-vision", base_url="https://z.provider.test/v1")
    make_model(
        seeing, LLAMA, family=FAMILY, category="vision", capabilities={**CHAT_CAPS, "vision": True}
    )
    http_mock.add(
        responses.POST, "https://z.provider.test/v1/chat/completions", json=groq_completion()
    )
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}]

    result = chat_call({"model": FAMILY, "messages": messages})

    assert result.body["model"] == f"z-vision/{LLAMA}"


def test_an_exact_route_id_answers_without_a_family_field(chat_call, routes, http_mock):
    http_mock.add(responses.POST, chat_url("c-good"), json=groq_completion())

    result = chat_call({"model": routes["c-good"].public_id, "messages": HELLO})

    assert "family" not in result.body


def test_an_unknown_family_is_404_and_calls_nobody(chat_call, routes, http_mock):
    with pytest.raises(ApiError) as raised:
        chat_call({"model": "llama-3.1-70b-instruct", "messages": HELLO})
    assert (raised.value.status_code, raised.value.code) == (404, "model_not_found")
    assert not http_mock.calls


def test_models_lists_the_family_with_its_routes_states_and_capacity(api_client, routes, settings):
    cache.set(f"route-cooldown:{routes['b-cooling'].credential_id}:{LLAMA}", 9e12, 60)  # cooling

    body = api_client.get("/v1/models").json()
    ids = [entry["id"] for entry in body["data"]]
    family = body["data"][ids.index(FAMILY)]

    assert ids.index(FAMILY) < ids.index(routes["c-good"].public_id)
    assert "other" not in ids  # a family of one route adds nothing to that route's entry
    assert family["context_length"] == 32768  # the smallest across the routes
    assert family["category"] == "text"
    assert family["working"] is True
    states = {route["id"]: route["state"] for route in family["routes"]}
    assert states == {
        routes["spent"].public_id: "ok",
        routes["a-failing"].public_id: "ok",
        routes["b-cooling"].public_id: "cooling",
        routes["c-good"].public_id: "ok",
    }
    groq_route = family["routes"][
        [r["id"] for r in family["routes"]].index(routes["spent"].public_id)
    ]
    assert groq_route["limits"]["rpm"] == 1  # the operator's limit over the documented one
    # Groq's documented day budget plus nothing known for the relays (left out, counted).
    assert family["capacity"] == {
        "routes": 3,
        "rpm": 1,
        "rpd": groq_route["limits"]["rpd"],
        "unknown": 2,
    }
    route_entry = body["data"][ids.index(routes["c-good"].public_id)]
    assert route_entry["family"] == FAMILY


@pytest.mark.parametrize("path", ["/v1/models", f"/v1/models/{FAMILY}"])
def test_a_family_carries_its_routes_quotas_and_the_budget_left_in_all(api_client, routes, path):
    quota_reserve(routes["spent"])  # Groq's one request this minute (operator's rpm 1)
    routes["c-good"].credential.limits = {"rpm": 5, "rpd": 100}
    routes["c-good"].credential.save()
    quota_reserve(routes["c-good"])
    cache.set(f"route-cooldown:{routes['b-cooling'].credential_id}:{LLAMA}", 9e12, 60)

    body = api_client.get(path).json()
    family = body if "id" in body else {e["id"]: e for e in body["data"]}[FAMILY]
    quota = family["quota"]

    assert quota["state"] == "ok"  # some route can serve
    assert quota["routes"][routes["b-cooling"].public_id]["state"] == "cooling"
    assert quota["routes"][routes["spent"].public_id]["minute"]["remaining"] == 0
    assert quota["minute"] == {"remaining": 4, "routes_counted": 2}  # 0 (Groq) + 4 (c-good)
    assert (
        quota["day"]["remaining"]
        == quota["routes"][routes["spent"].public_id]["day"]["remaining"] + 99
    )


def test_the_family_entry_intersects_capabilities_and_keeps_each_routes(api_client, routes):
    routes["a-failing"].capabilities = {**CHAT_CAPS, "tools": False}
    routes["a-failing"].save()
    from catalog.services import catalog_invalidate

    catalog_invalidate(routes["a-failing"].workspace_id)

    family = api_client.get(f"/v1/models/{FAMILY}").json()

    assert family["capabilities"]["tools"] is False
    assert family["capabilities"]["streaming"] is True
    tools = {r["id"]: r["capabilities"]["tools"] for r in family["routes"]}
    assert tools[routes["a-failing"].public_id] is False
    assert tools[routes["c-good"].public_id] is True
    assert json.dumps(family["routes"]).count('"state"') == 4


def test_a_family_with_no_route_that_sees_refuses_an_image_without_calling(
    chat_call, routes, http_mock
):
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}]

    with pytest.raises(ApiError) as raised:
        chat_call({"model": FAMILY, "messages": messages})

    assert (raised.value.status_code, raised.value.code) == (400, "model_category_mismatch")
    assert not http_mock.calls


def test_a_family_may_be_a_fallback_of_an_exact_model(chat_call, routes, http_mock):
    quota_reserve(routes["spent"])
    http_mock.add(responses.POST, chat_url("c-good"), status=500, body="oops")
    http_mock.add(responses.POST, chat_url("a-failing"), json=groq_completion())

    result = chat_call({"model": routes["c-good"].public_id, "models": [FAMILY], "messages": HELLO})

    # c-good was named first and failed; the family's other routes follow, c-good not again.
    assert result.body["family"] == FAMILY
    assert [c.request.url for c in http_mock.calls] == [chat_url("c-good"), chat_url("a-failing")]


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("", True),
        ("?category=text", True),
        ("?category=vision", False),
        ("?provider=groq", False),  # a family spans providers
        ("?working=true", True),
        ("?working=false", False),
    ],
)
def test_the_listing_filters_apply_to_families(api_client, routes, query, listed):
    ids = [entry["id"] for entry in api_client.get(f"/v1/models{query}").json()["data"]]

    assert (FAMILY in ids) is listed


def test_another_workspaces_routes_never_join_a_family(api_client, routes, other_user):
    theirs = make_credential(
        other_user.workspace, "custom", "theirs", base_url="https://theirs.provider.test/v1"
    )
    make_model(theirs, LLAMA, family=FAMILY)

    family = api_client.get(f"/v1/models/{FAMILY}").json()

    assert "theirs" not in {route["owned_by"] for route in family["routes"]}
    assert len(family["routes"]) == 4


def test_a_family_route_shows_the_limits_routing_counts_the_models_own_first(api_client, routes):
    from catalog.services import catalog_invalidate

    routes["c-good"].overrides = {"limits": {"rpm": 7, "rpd": 70}}
    routes["c-good"].save()
    catalog_invalidate(routes["c-good"].workspace_id)

    family = api_client.get(f"/v1/models/{FAMILY}").json()

    limits = {route["id"]: route["limits"] for route in family["routes"]}
    assert limits[routes["c-good"].public_id] == {"rpm": 7, "rpd": 70}
    assert limits[routes["spent"].public_id]["rpm"] == 1  # the key's, over Groq's documented
    assert family["capacity"]["rpm"] == 1 + 7

"""Capabilities on the chat path: unknown passes through, known-unsupported is a clear 400,
the auto route picks only models known to support what the request needs."""

import pytest
import responses

from catalog.models import CatalogModel
from catalog.services import catalog_model_override, catalog_sync
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_BASE,
    ALT_CHAT,
    CHAT_CAPS,
    GROQ_CHAT,
    HELLO,
    groq_completion,
    make_model,
    sent_bodies,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": {"type": "object"}},
}


@pytest.fixture
def synced_custom_model(alt, http_mock) -> CatalogModel:
    """A self-hosted server's model as a sync discovers it (a real OpenAI-style listing)."""
    http_mock.get(f"{ALT_BASE}/models", json=provider_fixture("cerebras/models_list.json"))
    assert catalog_sync(credential=alt).error == ""
    return CatalogModel.objects.get(credential=alt, upstream_id="gpt-oss-120b")


def test_a_custom_providers_models_start_with_capabilities_unknown(synced_custom_model):
    capabilities = synced_custom_model.capabilities
    assert capabilities["tools"] is None
    assert capabilities["structured_output"] is None
    assert capabilities["vision"] is None
    assert capabilities["streaming"] is True


def test_models_api_shows_unknown_capabilities_as_null(api_client, synced_custom_model):
    response = api_client.get(f"/v1/models/{synced_custom_model.public_id}")

    assert response.status_code == 200
    assert response.json()["capabilities"]["tools"] is None
    listed = {m["id"]: m for m in api_client.get("/v1/models").json()["data"]}
    assert listed[synced_custom_model.public_id]["capabilities"]["structured_output"] is None


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [WEATHER_TOOL], "tool_choice": "auto", "parallel_tool_calls": False},
        {"response_format": JSON_SCHEMA},
    ],
    ids=["tools", "response_format"],
)
def test_an_exact_request_to_an_unknown_capability_is_passed_through_unchanged(
    api_client, synced_custom_model, http_mock, extra
):
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions",
        {"model": synced_custom_model.public_id, "messages": HELLO, **extra},
        format="json",
    )

    assert response.status_code == 200
    sent = sent_bodies(http_mock, ALT_CHAT)[0]
    assert {name: sent.get(name) for name in extra} == extra


@pytest.mark.parametrize(
    ("extra", "capability", "param"),
    [
        ({"tools": [WEATHER_TOOL]}, "tools", "tools"),
        ({"tools": [WEATHER_TOOL], "tool_choice": "required"}, "tools", "tools"),
        ({"response_format": {"type": "json_object"}}, "structured_output", "response_format"),
        ({"response_format": JSON_SCHEMA}, "structured_output", "response_format"),
    ],
)
def test_a_feature_the_model_is_known_not_to_support_is_refused_naming_the_param(
    api_client, groq, http_mock, extra, capability, param
):
    model = make_model(groq, "plain", capabilities={**CHAT_CAPS, capability: False})

    response = api_client.post(
        "/v1/chat/completions",
        {"model": model.public_id, "messages": HELLO, **extra},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "unsupported_parameter",
        param,
        "invalid_request_error",
    )
    assert model.public_id in error["message"]
    assert len(http_mock.calls) == 0


def test_a_fallback_that_supports_the_feature_serves_instead(api_client, groq, alt, http_mock):
    plain = make_model(groq, "plain", capabilities={**CHAT_CAPS, "tools": False})
    capable = make_model(alt, "capable")
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions",
        {
            "models": [plain.public_id, capable.public_id],
            "messages": HELLO,
            "tools": [WEATHER_TOOL],
        },
        format="json",
    )

    assert response.status_code == 200
    assert sent_bodies(http_mock, ALT_CHAT)[0]["tools"] == [WEATHER_TOOL]
    assert sent_bodies(http_mock, GROQ_CHAT) == []


def test_params_that_ask_for_nothing_are_dropped_for_a_model_without_the_feature(
    api_client, groq, http_mock
):
    caps = {**CHAT_CAPS, "tools": False, "structured_output": False}
    model = make_model(groq, "plain", max_output_tokens=100, capabilities=caps)
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions",
        {
            "model": model.public_id,
            "messages": HELLO,
            "tools": [WEATHER_TOOL],
            "tool_choice": "none",
            "response_format": {"type": "text"},
            "max_tokens": 5000,
        },
        format="json",
    )

    assert response.status_code == 200
    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    assert not {"tools", "tool_choice", "response_format"} & set(sent)
    assert sent["max_completion_tokens"] == 100


@pytest.mark.parametrize(
    "extra",
    [{"tools": [WEATHER_TOOL]}, {"response_format": JSON_SCHEMA}],
    ids=["tools", "response_format"],
)
def test_auto_free_picks_only_models_known_to_support_the_feature(
    api_client, synced_custom_model, groq, http_mock, extra
):
    capable = make_model(groq, "capable")
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": HELLO, **extra},
        format="json",
    )

    assert response.status_code == 200
    assert capable.public_id.endswith(response.json()["model"])
    assert len(sent_bodies(http_mock, GROQ_CHAT)) == 1
    assert sent_bodies(http_mock, ALT_CHAT) == []


def test_auto_free_with_only_unknown_models_has_no_model_for_tools(
    api_client, synced_custom_model, http_mock
):
    response = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": HELLO, "tools": [WEATHER_TOOL]},
        format="json",
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_available_model"
    assert len([c for c in http_mock.calls if c.request.method == "POST"]) == 0


def test_an_operator_override_makes_an_unknown_model_eligible_for_auto_free(
    api_client, synced_custom_model, http_mock
):
    catalog_model_override(
        model=synced_custom_model, overrides={"capabilities": {"tools": True}}, hidden=False
    )
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    response = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": HELLO, "tools": [WEATHER_TOOL]},
        format="json",
    )

    assert response.status_code == 200
    assert sent_bodies(http_mock, ALT_CHAT)[0]["model"] == synced_custom_model.upstream_id


def test_an_operator_saying_no_tools_turns_pass_through_into_a_400(
    api_client, synced_custom_model, http_mock
):
    catalog_model_override(
        model=synced_custom_model, overrides={"capabilities": {"tools": False}}, hidden=False
    )

    response = api_client.post(
        "/v1/chat/completions",
        {"model": synced_custom_model.public_id, "messages": HELLO, "tools": [WEATHER_TOOL]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "tools"


def test_a_hidden_model_is_neither_listed_nor_routable(api_client, groq, http_mock):
    hidden = make_model(groq, "hidden")
    catalog_model_override(model=hidden, overrides={}, hidden=True)

    exact = api_client.post(
        "/v1/chat/completions", {"model": hidden.public_id, "messages": HELLO}, format="json"
    )
    auto = api_client.post(
        "/v1/chat/completions",
        {"model": "openprovider/auto-free", "messages": HELLO},
        format="json",
    )
    listed = [m["id"] for m in api_client.get("/v1/models").json()["data"]]

    assert exact.status_code == 404
    assert exact.json()["error"]["code"] == "model_not_found"
    assert auto.status_code == 503
    assert hidden.public_id not in listed
    assert api_client.get(f"/v1/models/{hidden.public_id}").status_code == 404
    assert len(http_mock.calls) == 0


def test_hiding_a_model_takes_effect_over_warm_route_and_listing_caches(
    api_client, groq, http_mock
):
    model = make_model(groq, "soon-hidden")
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    body = {"model": model.public_id, "messages": HELLO}
    assert api_client.post("/v1/chat/completions", body, format="json").status_code == 200
    assert model.public_id in api_client.get("/v1/models").content.decode()

    catalog_model_override(model=model, overrides={}, hidden=True)

    assert api_client.post("/v1/chat/completions", body, format="json").status_code == 404
    assert model.public_id not in api_client.get("/v1/models").content.decode()

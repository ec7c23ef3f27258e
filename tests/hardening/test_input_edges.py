"""Inputs found by fuzzing (issue 21): unencodable object keys, a `provider` setting that excludes
every provider, non-finite numbers in pass-through objects, `stream_options` and `tool_call_id`
checked whatever else the request says, and an expected 503 logged as a warning."""

import json
import logging

import pytest
import responses

from tests.gateway.conftest import ALT_BASE
from tests.hardening.conftest import POST_ROUTES, valid_body
from tests.hardening.test_hostile_input import assert_envelope, post_raw

pytestmark = pytest.mark.django_db

CHAT = next(route for route in POST_ROUTES if route.name == "v1-chat-completions")


def surrogate_key_bodies(body: dict) -> dict[str, str]:
    """The raw JSON of `body` with a lone-surrogate key at the top level and nested."""
    raw = json.dumps(body)[:-1]  # ensure_ascii: the key travels as a \ud800 escape
    return {
        "top-level": raw + ', "\\ud800": 1}',
        "in-provider": raw + ', "provider": {"\\ud800": ["groq"]}}',
        "deep": raw + ', "metadata": {"a": [{"b\\udfffc": {"x": 1}}]}}',
    }


@pytest.mark.parametrize("where", ["top-level", "in-provider", "deep"])
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_a_lone_surrogate_in_an_object_key_is_a_400_that_never_echoes_it(
    api_client, catalog, route, where
):
    raw = surrogate_key_bodies(valid_body(route.name, catalog))[where]

    response = post_raw(api_client, route, raw)

    error = assert_envelope(response)
    assert response.status_code == 400, error
    assert error["code"] == "invalid_request"
    assert "surrogate" in error["message"]
    text = response.content.decode("utf-8")  # encodable through and through
    assert "\\ud800" not in text
    assert "\\udfff" not in text


def test_the_surrogate_key_error_names_the_object_that_holds_it(api_client, catalog):
    raw = surrogate_key_bodies(valid_body(CHAT.name, catalog))["in-provider"]

    error = post_raw(api_client, CHAT, raw).json()["error"]

    assert error["param"] == "provider"
    assert "'provider'" in error["message"]


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("response_format", '{"type": "json_schema", "json_schema": {"maximum": 1e400}}'),
        ("tools", '[{"type": "function", "function": {"name": "f", "x": -1e400}}]'),
        ("temperature", "1e400"),
        ("metadata", '{"deep": [1, 2, 1E+999]}'),
    ],
)
def test_a_non_finite_number_anywhere_is_a_400_and_never_reaches_upstream(
    api_client, catalog, http_mock, field, literal
):
    raw = json.dumps(valid_body(CHAT.name, catalog))[:-1] + f', "{field}": {literal}}}'

    response = post_raw(api_client, CHAT, raw)

    error = assert_envelope(response)
    assert response.status_code == 400, error
    assert error["code"] == "invalid_json"
    assert "finite" in error["message"]
    assert not [c for c in http_mock.calls if c.request.url.startswith(ALT_BASE)]


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_non_finite_numbers_are_refused_on_every_route(api_client, catalog, route):
    raw = json.dumps(valid_body(route.name, catalog))[:-1] + ', "extra": {"n": 1e400}}'

    response = post_raw(api_client, route, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_finite_floats_in_pass_through_objects_still_pass(api_client, catalog, http_mock):
    http_mock.add(
        responses.POST,
        f"{ALT_BASE}/chat/completions",
        json={
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "relay-chat",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "{}"},
                    "finish_reason": "stop",
                }
            ],
        },
    )
    body = {
        **valid_body(CHAT.name, catalog),
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "n", "maximum": 1.5e300},
        },
    }

    response = post_raw(api_client, CHAT, json.dumps(body))

    assert response.status_code == 200, response.content
    sent = json.loads(http_mock.calls[-1].request.body)
    assert sent["response_format"]["json_schema"]["maximum"] == 1.5e300


@pytest.mark.parametrize("stream_options", [7, "yes", [], {"include_usage": "yes"}])
@pytest.mark.parametrize("stream", [False, None])
def test_stream_options_are_validated_when_not_streaming(
    api_client, catalog, stream, stream_options
):
    body = {**valid_body(CHAT.name, catalog), "stream_options": stream_options}
    if stream is not None:
        body["stream"] = stream

    response = post_raw(api_client, CHAT, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("stream_options")


@pytest.mark.parametrize("role", ["user", "assistant", "system", "tool"])
@pytest.mark.parametrize("tool_call_id", [42, ["a"], {"id": "a"}, True])
def test_tool_call_id_must_be_a_string_on_every_message(api_client, catalog, role, tool_call_id):
    message = {"role": role, "content": "hi", "tool_call_id": tool_call_id}
    body = {**valid_body(CHAT.name, catalog), "messages": [message]}

    response = post_raw(api_client, CHAT, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].tool_call_id"


@pytest.mark.parametrize(
    "provider",
    [
        {"only": ["nobody"]},
        {"ignore": ["relay"]},
        {"ignore": ["custom"]},
        {"order": ["nobody"], "allow_fallbacks": False},
    ],
)
@pytest.mark.parametrize("model", ["exact", "openprovider/auto-free"])
def test_provider_settings_that_exclude_every_provider_are_a_400_naming_provider(
    api_client, catalog, http_mock, provider, model
):
    body = {**valid_body(CHAT.name, catalog), "provider": provider}
    if model != "exact":
        body["model"] = model

    response = post_raw(api_client, CHAT, json.dumps(body))

    error = assert_envelope(response)
    assert response.status_code == 400, error
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "provider"
    assert not http_mock.calls


def test_a_no_available_model_503_is_logged_as_a_warning_not_an_error(api_client, catalog, caplog):
    # The only text model needs more context than it has: nothing can serve it right now.
    catalog["text"].context_length = 10
    catalog["text"].save(update_fields=["context_length"])
    catalog["vision"].delete()
    body = {
        "model": "openprovider/auto-free",
        "messages": [{"role": "user", "content": "x" * 400}],
    }

    with caplog.at_level(logging.INFO, logger="django.request"):
        response = post_raw(api_client, CHAT, json.dumps(body))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_available_model"
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert [r.levelno for r in logged] == [logging.WARNING]

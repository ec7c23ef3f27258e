"""Hostile input on every /v1 route: always the envelope, never a 500.

The routes come from the URLconf (tests/hardening/conftest.py), so a new /v1 route is covered
by every case here without being listed.
"""

import json

import pytest
from django.conf import settings

from tests.hardening.conftest import GET_ROUTES, POST_ROUTES, ROUTES, valid_body

pytestmark = pytest.mark.django_db

DEPTH = 10_000
FIELDS = (
    "model",
    "messages",
    "prompt",
    "input",
    "voice",
    "image_url",
    "n",
    "size",
    "response_format",
    "speed",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stream_options",
    "stop",
    "tools",
    "tool_choice",
    "seed",
    "provider",
    "models",
    "user",
)
WRONG_VALUES = ([], {}, 0, -1, 1.5, True, "x", "", None, [None], {"": None}, "\u202e\u200d")


def assert_envelope(response) -> dict:
    assert response.status_code < 500 or response.status_code in (502, 503, 504), (
        response.status_code,
        response.content[:300],
    )
    if response.status_code < 400:
        return {}
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert {"message", "type", "code", "param", "request_id"} <= set(error)
    assert isinstance(error["message"], str)
    assert isinstance(error["code"], str)
    assert error["request_id"] == response["x-request-id"]
    return error


def post_raw(client, route, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", route.path, body, content_type=content_type)


def test_the_inventory_covers_every_named_v1_route():
    from gateway.api import urls

    named = {p.name for p in urls.urlpatterns if p.name != "v1-unknown"}
    assert named == {route.name for route in ROUTES}
    assert POST_ROUTES
    assert GET_ROUTES


def deep_bodies() -> dict[str, str]:
    return {
        "deep-array": "[" * DEPTH + "]" * DEPTH,
        "deep-object": '{"a":' * DEPTH + "1" + "}" * DEPTH,
        "deep-in-field": '{"messages":' + "[" * DEPTH + "]" * DEPTH + "}",
        "huge-int-digits": '{"max_tokens": ' + "9" * 5000 + "}",
        "nan": '{"temperature": NaN, "max_tokens": Infinity}',
        "float-overflow": '{"max_tokens": 1e309, "temperature": -1e309}',
        "malformed": '{"model": ',
        "trailing-junk": '{"model": "x"} {}',
        "empty": "",
        "null": "null",
        "array": "[]",
        "number": "1",
        "string": '"hello"',
        "lone-surrogate-raw": '{"model": "\\ud800", "prompt": "\\udfff", "input": "\\ud800"}',
        "bom": "\ufeff{}",
    }


@pytest.mark.parametrize("case", sorted(deep_bodies()))
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_malformed_and_pathological_json_is_an_envelope(api_client, catalog, route, case):
    response = post_raw(api_client, route, deep_bodies()[case])

    error = assert_envelope(response)
    assert response.status_code == 400, error


@pytest.mark.parametrize("text", ["a\u0000b", "\ud800", "x\udfffy", "\ud800\u0000"])
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_nul_and_lone_surrogates_in_any_field_are_400(api_client, catalog, route, text):
    for field in ("model", "prompt", "input", "voice", "image_url", "messages", "user"):
        body = valid_body(route.name, catalog)
        if field == "messages":
            body[field] = [{"role": "user", "content": text}]
        else:
            body[field] = text
        raw = json.dumps(body)  # ensure_ascii: the NUL and surrogates travel as \u escapes

        response = post_raw(api_client, route, raw)

        error = assert_envelope(response)
        assert response.status_code == 400, (field, error)


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_huge_integers_in_every_field_never_500(api_client, catalog, route, http_mock):
    for field in FIELDS:
        for value in (10**400, -(10**400), 2**63, 2**64 + 1):
            body = {**valid_body(route.name, catalog), field: value}

            response = post_raw(api_client, route, json.dumps(body))

            assert_envelope(response)


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_wrong_types_in_every_field_never_500(api_client, catalog, route, http_mock):
    for field in FIELDS:
        for value in WRONG_VALUES:
            body = {**valid_body(route.name, catalog), field: value}

            response = post_raw(api_client, route, json.dumps(body))

            assert_envelope(response)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json; charset=bz2_codec",
        "application/json; charset=zlib_codec",
        "application/json; charset=base64_codec",
        "application/json; charset=utf-7",
        "application/json; charset=no-such-charset",
        "multipart/form-data",
        "multipart/form-data; boundary=" + "b" * 80,
    ],
)
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_foreign_content_types_are_an_envelope(api_client, catalog, route, content_type):
    body = json.dumps(valid_body(route.name, catalog))

    response = post_raw(api_client, route, body, content_type)

    error = assert_envelope(response)
    assert response.status_code in (400, 415), error


def test_a_compressing_charset_is_never_decoded(api_client, catalog):
    import zlib

    body = zlib.compress(json.dumps(valid_body("v1-chat-completions", catalog)).encode())

    response = api_client.generic(
        "POST", "/v1/chat/completions", body, content_type="application/json; charset=zlib_codec"
    )

    error = assert_envelope(response)
    assert response.status_code in (400, 415)
    assert error["code"] in ("unsupported_media_type", "invalid_json")


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_a_body_over_the_route_cap_is_a_413_envelope(api_client, route):
    from gateway.api.errors import body_limit

    body = b'{"prompt": "' + b"a" * body_limit(route.path) + b'"}'

    response = post_raw(api_client, route, body)

    error = assert_envelope(response)
    assert response.status_code == 413
    assert error["code"] == "request_too_large"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_wrong_method_is_a_405_envelope(api_client, route):
    wrong = "GET" if route.method == "POST" else "POST"
    if any(r.path == route.path and r.method == wrong for r in ROUTES):
        pytest.skip("the route serves both methods")

    response = api_client.generic(wrong, route.path)

    error = assert_envelope(response)
    assert response.status_code == 405
    assert error["type"] == "invalid_request_error"


SERVED = {(route.path, route.method) for route in ROUTES}
UNSERVED = [
    (route, method)
    for route in ROUTES
    for method in ("PUT", "PATCH", "DELETE")
    if (route.path, method) not in SERVED
]


@pytest.mark.parametrize(("route", "method"), UNSERVED, ids=str)
def test_other_methods_are_405_envelopes(api_client, route, method):
    response = api_client.generic(method, route.path, "{}", content_type="application/json")

    assert_envelope(response)
    assert response.status_code == 405


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_key_is_a_401_envelope_before_the_body_is_judged(client, db, route):
    response = client.generic(
        route.method, route.path, "[" * DEPTH, content_type="application/json"
    )

    if route.name == "v1-image-file-detail":  # generated images are served by unguessable name
        assert response.status_code == 404
    else:
        assert response.status_code == 401
    assert_envelope(response)


HOSTILE_QUERY_VALUES = ["%00", "a%00b", "%ED%A0%80", "%FF%FE", "x" * 10_000, "%25%5F", "10**9"]


@pytest.mark.parametrize("value", HOSTILE_QUERY_VALUES)
@pytest.mark.parametrize("route", GET_ROUTES, ids=str)
def test_hostile_query_strings_are_never_500(api_client, catalog, route, value):
    query = "&".join(f"{name}={value}" for name in ("id", "page", "page_size", "category", "q"))

    response = api_client.get(f"{route.path}?{query}&{value}={value}")

    assert_envelope(response)


@pytest.mark.parametrize(
    "segment", ["%00", "a%00b", "%ED%A0%80", "..%2F..%2Fetc%2Fpasswd", "x" * 5000, "%0d%0aX: y"]
)
@pytest.mark.parametrize("route", GET_ROUTES, ids=str)
def test_hostile_path_segments_are_never_500(api_client, catalog, route, segment):
    path = route.path.rsplit("/", 1)[0] + "/" + segment

    response = api_client.get(path)

    assert_envelope(response)


def test_the_error_envelope_is_json_even_when_the_client_asks_for_html(api_client, catalog):
    response = api_client.post(
        "/v1/chat/completions", "{", content_type="application/json", HTTP_ACCEPT="text/html"
    )

    assert_envelope(response)
    assert response.status_code in (400, 406)


def test_a_million_messages_under_the_cap_is_a_400_not_a_500(api_client, catalog, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
    body = '{"model": "' + catalog["text"].public_id + '", "messages": [' + "1," * 999_999 + "1]}"

    response = post_raw(api_client, POST_ROUTES[0], body)

    assert_envelope(response)
    assert response.status_code == 400


def test_settings_give_analyze_room_for_a_whole_image():
    assert settings.ANALYZE_MAX_BODY_BYTES >= settings.IMAGE_MAX_BYTES * 4 // 3


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF8"],
)
def test_utf8_json_in_any_spelling_is_accepted(api_client, catalog, http_mock, content_type):
    from tests.hardening.conftest import mock_relay

    mock_relay(http_mock)
    body = json.dumps(valid_body("v1-chat-completions", catalog), ensure_ascii=False)

    response = api_client.generic("POST", "/v1/chat/completions", body.encode(), content_type)

    assert response.status_code == 200, response.content[:300]

"""Every /v1 error is the envelope, as JSON, with the right status and an x-request-id."""

import json
import logging

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

SECRET_DETAIL = "db password hunter2 opk_live_" + "s" * 43
TEST_URLS = "tests.gateway.test_errors"


class OpenView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)


class EchoView(OpenView):
    def post(self, request: Request) -> Response:
        return Response({"received": request.data})


class OncePerMinute(SimpleRateThrottle):
    rate = "1/min"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return "test-errors-throttle"


class ThrottledView(OpenView):
    throttle_classes = (OncePerMinute,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class BrokenView(OpenView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET_DETAIL)


@csrf_exempt
def plain_broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


@csrf_exempt
def plain_too_big(request: HttpRequest) -> HttpResponse:
    raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")


@csrf_exempt
def ignores_body(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path(
        "v1/",
        include(
            [
                path("echo", EchoView.as_view()),
                path("throttled", ThrottledView.as_view()),
                path("broken", BrokenView.as_view()),
                path("plain-broken", plain_broken),
                path("plain-too-big", plain_too_big),
                path("ignores-body", ignores_body),
            ]
        ),
    )
]


def assert_envelope(response, status: int, type_: str, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response["x-request-id"].startswith("gen-")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert {"message", "type", "code", "param"} <= set(body["error"])
    assert body["error"]["type"] == type_
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_v1_route_is_a_404_envelope(client, db, method):
    response = getattr(client, method)("/v1/no/such/route")

    error = assert_envelope(response, 404, "not_found_error", "unknown_route")
    assert "/v1/no/such/route" in error["message"]


def test_a_wrong_method_is_a_405_envelope(api_client):
    response = api_client.delete("/v1/key")

    assert_envelope(response, 405, "invalid_request_error", "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.urls(TEST_URLS)
def test_malformed_json_is_a_400_envelope(client):
    response = client.post("/v1/echo", '{"model": ', content_type="application/json")

    assert_envelope(response, 400, "invalid_request_error", "invalid_json")


@pytest.mark.urls(TEST_URLS)
def test_well_formed_json_reaches_the_view(client):
    response = client.post("/v1/echo", {"model": "x"}, content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"received": {"model": "x"}}


@pytest.mark.urls(TEST_URLS)
def test_a_body_over_the_limit_is_a_413_envelope(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"text": "x" * 1000})

    response = client.post("/v1/echo", body, content_type="application/json")

    error = assert_envelope(response, 413, "invalid_request_error", "request_too_large")
    assert "1000 bytes" in error["message"]


@pytest.mark.urls(TEST_URLS)
def test_a_body_at_the_limit_is_accepted(client, settings):
    body = json.dumps({"text": "x" * 980})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)

    response = client.post("/v1/echo", body, content_type="application/json")

    assert response.status_code == 200


@pytest.mark.urls(TEST_URLS)
def test_the_default_limit_applies_to_a_view_that_never_reads_the_body(client, settings):
    body = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post("/v1/ignores-body", body, content_type="application/octet-stream")

    assert_envelope(response, 413, "invalid_request_error", "request_too_large")


def test_an_oversized_body_is_a_413_before_authentication(client, settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10

    response = client.post("/v1/key", "x" * 11, content_type="application/json")

    assert_envelope(response, 413, "invalid_request_error", "request_too_large")


@pytest.mark.urls(TEST_URLS)
def test_request_data_too_big_raised_while_reading_is_a_413_envelope(client):
    response = client.post("/v1/plain-too-big", "{}", content_type="application/json")

    assert_envelope(response, 413, "invalid_request_error", "request_too_large")


@pytest.mark.urls(TEST_URLS)
def test_throttling_is_a_429_envelope_with_retry_after(client):
    assert client.get("/v1/throttled").status_code == 200

    response = client.get("/v1/throttled")

    assert_envelope(response, 429, "rate_limit_error", "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.urls(TEST_URLS)
@pytest.mark.parametrize("url", ["/v1/broken", "/v1/plain-broken"])
def test_an_unhandled_error_is_a_500_envelope_that_leaks_nothing(client, caplog, url):
    with caplog.at_level(logging.ERROR):
        response = client.get(url)

    error = assert_envelope(response, 500, "api_error", "server_error")
    assert error["message"] == "The server had an error processing the request."
    assert "hunter2" not in response.content.decode()
    assert "opk_live_" not in response.content.decode()
    assert "unhandled error on /v1" in caplog.messages


def test_a_non_api_page_keeps_django_html_errors(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_error_bodies_are_the_same_shape_through_the_api_client(db):
    response = APIClient().get("/v1/key")

    assert_envelope(response, 401, "authentication_error", "missing_api_key")

"""Body caps per route, Django's 400 handler on /v1, and unstorable text.

The 413 check runs before authentication and before any view reads the body: on the declared
Content-Length, and on a chunked body (no Content-Length) read with the same cap.
"""

import io
import json

import pytest
import responses
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.fakeprovider import tiny_png
from tests.gateway.conftest import ALT_BASE, groq_completion
from tests.hardening.conftest import PNG_DATA_URL
from tests.hardening.test_hostile_input import assert_envelope

pytestmark = pytest.mark.django_db

ANALYZE = "/v1/images/analyze"
CHAT = "/v1/chat/completions"


def padded_png_data_url(size: int) -> str:
    """A valid PNG data URL about `size` bytes long (a PNG may carry trailing bytes)."""
    png = tiny_png()
    import base64

    return "data:image/png;base64," + base64.b64encode(png + b"\0" * (size * 3 // 4)).decode()


def chunked_post(client, path: str, source: io.BytesIO):
    """A request as gunicorn hands over a chunked body: de-chunked input, no Content-Length."""
    return client.generic(
        "POST",
        path,
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
        **{"wsgi.input": source},
    )


def test_analyze_accepts_a_data_url_far_over_the_general_cap(
    api_client, catalog, http_mock, settings
):
    http_mock.add(responses.POST, f"{ALT_BASE}/chat/completions", json=groq_completion())
    data_url = padded_png_data_url(4 * 1024 * 1024)
    body = {"model": catalog["vision"].public_id, "prompt": "What?", "image_url": data_url}
    assert len(json.dumps(body)) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = api_client.post(ANALYZE, body, format="json")

    assert response.status_code == 200, response.content[:300]


def test_analyze_accepts_an_upload_far_over_the_general_cap(
    api_client, catalog, http_mock, settings
):
    http_mock.add(responses.POST, f"{ALT_BASE}/chat/completions", json=groq_completion())
    content = tiny_png() + b"\0" * (3 * 1024 * 1024)
    upload = SimpleUploadedFile("big.png", content, content_type="image/png")

    response = api_client.post(
        ANALYZE,
        {"prompt": "What?", "model": catalog["vision"].public_id, "file": upload},
        format="multipart",
    )

    assert response.status_code == 200, response.content[:300]


def test_analyze_keeps_its_own_cap(api_client, settings):
    settings.ANALYZE_MAX_BODY_BYTES = 4096
    body = json.dumps({"prompt": "x", "image_url": padded_png_data_url(8192)})

    response = api_client.generic("POST", ANALYZE, body, content_type="application/json")

    error = assert_envelope(response)
    assert response.status_code == 413
    assert "4096" in error["message"]


def test_other_routes_keep_the_small_cap(api_client, settings):
    body = json.dumps({"messages": [{"role": "user", "content": "a" * (3 * 1024 * 1024)}]})

    response = api_client.generic("POST", CHAT, body, content_type="application/json")

    assert_envelope(response)
    assert response.status_code == 413


def test_a_chunked_body_over_the_cap_is_413_without_reading_all_of_it(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    source = io.BytesIO(b"[" + b"1," * 1_000_000 + b"1]")

    response = chunked_post(api_client, CHAT, source)

    error = assert_envelope(response)
    assert response.status_code == 413
    assert error["code"] == "request_too_large"
    assert source.tell() <= 1001 + 64 * 1024


def test_a_chunked_body_under_the_cap_is_read_and_parsed(api_client, catalog, http_mock):
    http_mock.add(responses.POST, f"{ALT_BASE}/chat/completions", json=groq_completion())
    body = {"model": catalog["text"].public_id, "messages": [{"role": "user", "content": "Hi"}]}

    response = chunked_post(api_client, CHAT, io.BytesIO(json.dumps(body).encode()))

    assert response.status_code == 200, response.content[:300]


def test_a_bad_host_on_v1_is_a_400_envelope(api_client, settings):
    settings.ALLOWED_HOSTS = ["openprovider.test"]

    response = api_client.get("/v1/models", HTTP_HOST="evil.test")

    error = assert_envelope(response)
    assert response.status_code == 400
    assert "evil.test" not in error["message"]


def test_a_bad_host_on_a_web_page_keeps_the_html_400(client, db, settings):
    settings.ALLOWED_HOSTS = ["openprovider.test"]

    response = client.get("/", HTTP_HOST="evil.test")

    assert response.status_code == 400
    assert "application/json" not in response["Content-Type"]


@pytest.mark.parametrize(
    ("error", "status"),
    [(SuspiciousOperation("forged"), 400), (PermissionDenied("internal reason"), 403)],
    ids=["suspicious-400", "permission-denied-403"],
)
def test_an_error_raised_before_the_view_is_an_envelope_without_its_reason(
    api_client, monkeypatch, error, status
):
    from django.middleware.common import CommonMiddleware

    def refuse(self, request):
        raise error

    monkeypatch.setattr(CommonMiddleware, "process_request", refuse)

    response = api_client.get("/v1/models")

    envelope = assert_envelope(response)
    assert response.status_code == status
    assert str(error) not in envelope["message"]


def test_request_data_too_big_outside_drf_is_a_413_envelope(rf, db):
    from django.core.exceptions import RequestDataTooBig

    from gateway.api.handlers import bad_request

    request = rf.post(CHAT)
    response = bad_request(request, RequestDataTooBig("too big"))

    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "request_too_large"


def test_a_nul_in_a_multipart_field_is_400(api_client, catalog, http_mock):
    upload = SimpleUploadedFile("a.png", tiny_png(), content_type="image/png")

    response = api_client.post(
        ANALYZE, {"prompt": "What?", "model": "relay/\0", "file": upload}, format="multipart"
    )

    error = assert_envelope(response)
    assert response.status_code == 400
    assert error["param"] == "model"
    assert not http_mock.calls


def test_an_image_url_with_a_nul_is_400_before_any_fetch(api_client, catalog, http_mock):
    body = {"prompt": "What?", "image_url": PNG_DATA_URL[:40] + "\0"}

    response = api_client.post(ANALYZE, body, format="json")

    assert_envelope(response)
    assert response.status_code == 400
    assert not http_mock.calls

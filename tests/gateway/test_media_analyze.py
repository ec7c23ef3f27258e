"""POST /v1/images/analyze: images checked (and URLs guarded) before routing to vision models."""

import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.gateway.conftest import ALT_BASE, ALT_CHAT, GROQ_CHAT, groq_completion
from tests.gateway.loopback_http import image_server
from tests.gateway.media_support import (
    PNG,
    b64,
    credential,
    json_sent,
    log_row,
    media_model,
)

URL = "/v1/images/analyze"
PNG_DATA_URL = f"data:image/png;base64,{b64(PNG)}"
VISION_CAPS = {"tools": True, "structured_output": False, "streaming": True, "vision": True}
SCOUT = "meta-llama/llama-4-scout-17b-16e-instruct"


@pytest.fixture
def scout(workspace):
    return media_model(credential(workspace, "groq"), SCOUT, "vision", capabilities=VISION_CAPS)


@pytest.fixture
def relay_vision(workspace):
    cred = credential(workspace, "custom", "relay", base_url=ALT_BASE)
    return media_model(cred, "relay-vision", "vision", capabilities=VISION_CAPS)


def analyze(api_client, **body):
    return api_client.post(URL, {"prompt": "What is in this image?", **body}, format="json")


def sent_image_url(http_mock) -> str:
    content = json_sent(http_mock)["messages"][0]["content"]
    return next(part["image_url"]["url"] for part in content if part["type"] == "image_url")


def test_a_data_url_is_analyzed_by_a_vision_model(api_client, scout, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="A blue square."))

    response = analyze(api_client, image_url=PNG_DATA_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "image.analysis"
    assert body["output_text"] == "A blue square."
    assert (body["model"], body["provider"]) == (scout.public_id, "groq")
    assert body["id"] == response["x-request-id"]
    assert body["usage"]["total_tokens"] > 0
    assert sent_image_url(http_mock) == PNG_DATA_URL
    assert json_sent(http_mock)["model"] == SCOUT


def test_the_openai_content_part_shape_is_accepted(api_client, scout, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="A square."))

    response = analyze(api_client, image_url={"url": PNG_DATA_URL}, model=scout.public_id)

    assert response.json()["output_text"] == "A square."


def test_a_url_is_fetched_through_the_guard_and_sent_inline(api_client, scout, http_mock, settings):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="A square."))
    with image_server(PNG) as server:
        settings.IMAGE_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]

        response = analyze(api_client, image_url=server.url())

    assert response.status_code == 200
    assert sent_image_url(http_mock) == PNG_DATA_URL
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    "image_url",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://localhost/a.png",
        "http://[::1]/a.png",
        "http://2130706433/a.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_internal_image_urls_are_400_with_no_provider_call(api_client, scout, http_mock, image_url):
    response = analyze(api_client, image_url=image_url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image_url"
    assert len(http_mock.calls) == 0


def test_a_loopback_server_is_never_reached(api_client, scout, http_mock):
    with image_server(PNG) as server:
        response = analyze(api_client, image_url=server.url())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image_url"
    assert server.hits == []
    assert len(http_mock.calls) == 0
    assert log_row(response).error_code == "invalid_image_url"


@pytest.mark.parametrize(
    "image_url",
    [
        "data:image/svg+xml;base64," + b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        "data:text/html;base64," + b64(b"<script>alert(1)</script>"),
        "data:image/png;base64,not*base64",
        "data:image/jpeg;base64," + b64(PNG),
    ],
)
def test_bad_data_urls_are_400_invalid_image(api_client, scout, http_mock, image_url):
    response = analyze(api_client, image_url=image_url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image"
    assert len(http_mock.calls) == 0


def test_an_oversized_data_url_is_413(api_client, scout, http_mock, settings):
    settings.IMAGE_MAX_BYTES = len(PNG) - 1

    response = analyze(api_client, image_url=PNG_DATA_URL)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"


def test_an_upload_is_analyzed_as_a_data_url(api_client, scout, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="An upload."))
    upload = SimpleUploadedFile("cat.png", PNG, content_type="image/png")

    response = api_client.post(URL, {"prompt": "Describe", "file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json()["output_text"] == "An upload."
    assert sent_image_url(http_mock) == PNG_DATA_URL


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.png", PNG, content_type="image/png")


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"file": [_upload(), _upload()]}, "invalid_request"),  # two files
        ({}, "invalid_request"),  # no file
        ({"image": _upload()}, "invalid_request"),  # the file under another name
        (
            {"file": SimpleUploadedFile("a.html", b"<html></html>", content_type="text/html")},
            "invalid_image",
        ),
        ({**{f"f{i}": "x" for i in range(1001)}, "file": _upload()}, "invalid_request"),
    ],
    ids=["two-files", "no-file", "wrong-field", "not-an-image", "too-many-parts"],
)
def test_multipart_abuse_is_400(api_client, scout, http_mock, form, code):
    response = api_client.post(URL, {"prompt": "Describe", **form}, format="multipart")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert len(http_mock.calls) == 0


def _raw_multipart(boundary: str, preamble: bytes = b"") -> bytes:
    part = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="prompt"\r\n\r\nDescribe\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return preamble + part + PNG + f"\r\n--{boundary}--\r\n".encode()


def test_junk_before_the_first_boundary_is_ignored_as_a_preamble(api_client, scout, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Parsed."))
    body = _raw_multipart("b0undary", preamble=b"junk junk junk\r\n" * 50)

    response = api_client.generic(
        "POST", URL, body, content_type="multipart/form-data; boundary=b0undary"
    )

    assert response.json()["output_text"] == "Parsed."


def test_an_overlong_boundary_is_refused_with_an_envelope(api_client, scout, http_mock):
    boundary = "b" * 300
    response = api_client.generic(
        "POST",
        URL,
        _raw_multipart(boundary),
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 415  # DRF cannot even read such a media type
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert len(http_mock.calls) == 0


def test_an_unknown_model_is_404_before_any_fetch(api_client, scout, http_mock, settings):
    with image_server(PNG) as server:
        settings.IMAGE_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]

        response = analyze(api_client, image_url=server.url(), model="groq/nope")

    assert response.status_code == 404
    assert server.hits == []


def test_an_upload_over_the_cap_is_413(api_client, scout, http_mock, settings):
    settings.IMAGE_MAX_BYTES = 1000
    big = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"x" * 5000, "image/png")

    response = api_client.post(URL, {"prompt": "Describe", "file": big}, format="multipart")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"


def test_a_multipart_body_without_a_boundary_is_400(api_client, scout):
    response = api_client.generic("POST", URL, b"--x\r\n\r\n", content_type="multipart/form-data")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_multipart"


@pytest.mark.parametrize(("category", "upstream"), [("text", "llama-3.1-8b"), ("image", "flux")])
def test_a_model_that_cannot_see_is_a_category_mismatch(
    api_client, workspace, http_mock, category, upstream
):
    model = media_model(credential(workspace, "groq"), upstream, category)

    response = analyze(api_client, image_url=PNG_DATA_URL, model=model.public_id)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_category_mismatch"
    assert len(http_mock.calls) == 0


def test_a_text_model_with_vision_capability_is_accepted(api_client, workspace, http_mock):
    caps = {**VISION_CAPS}
    model = media_model(
        credential(workspace, "groq"), "llama-vision-text", "text", capabilities=caps
    )
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content="Seen."))

    response = analyze(api_client, image_url=PNG_DATA_URL, model=model.public_id)

    assert response.json()["output_text"] == "Seen."


def test_no_vision_model_is_503(api_client, workspace):
    media_model(credential(workspace, "groq"), "llama-3.1-8b", "text")

    response = analyze(api_client, image_url=PNG_DATA_URL)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_available_model"


def test_a_failing_vision_model_falls_back_to_the_next(api_client, scout, relay_vision, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=502, body="<html>Bad gateway</html>")
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion(content="From the relay."))

    response = analyze(api_client, image_url=PNG_DATA_URL)

    assert response.status_code == 200
    assert response.json()["output_text"] == "From the relay."
    row = log_row(response)
    assert row.endpoint == "images.analyze"
    assert [a["status"] for a in row.attempts] == ["upstream", "ok"]


@pytest.mark.parametrize("max_tokens", ["2", 2.0, True, 0])
def test_max_tokens_is_a_positive_integer_never_coerced(api_client, scout, http_mock, max_tokens):
    response = analyze(api_client, image_url=PNG_DATA_URL, max_tokens=max_tokens)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "max_tokens"
    assert len(http_mock.calls) == 0

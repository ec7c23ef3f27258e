"""The playground endpoints: media workflows through gateway.media over the session."""

import base64

import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile

from gateway.models import GeneratedImage, RequestLog
from tests.fakeprovider import tiny_png
from tests.gateway.conftest import make_credential, make_model
from tests.web.conftest import XSS

pytestmark = pytest.mark.django_db

BASE = "https://media.test/v1"
PNG = tiny_png()
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb" + b"\x00" * 64


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("cat.png", PNG, content_type="image/png")


@pytest.fixture
def media(workspace):
    return make_credential(workspace, "custom", "media", base_url=BASE)


@pytest.fixture
def painter(media):
    return make_model(media, "painter", category="image")


@pytest.fixture
def eyes(media):
    return make_model(media, "eyes", category="vision", capabilities={"vision": True})


@pytest.fixture
def voice(media):
    return make_model(media, "voice", category="speech", voices=["nova", "onyx"])


def test_the_page_offers_each_workflows_models(client_in, painter, eyes, voice):
    page = client_in.get("/playground/").content.decode()

    assert f'<option value="{painter.public_id}">' in page
    assert f'<option value="{eyes.public_id}">' in page
    assert f'<option value="{voice.public_id}">' in page
    assert '"media/voice": ["nova", "onyx"]' in page  # voices for the picker (json_script)


def test_the_page_explains_empty_workflows(client_in):
    page = client_in.get("/playground/").content.decode()

    assert "No free image models yet." in page
    assert "No free speech models yet." in page


def test_image_generation_returns_stored_image_urls(
    client_in, painter, http_mock, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    b64 = base64.b64encode(PNG).decode()
    http_mock.add(responses.POST, f"{BASE}/images/generations", json={"data": [{"b64_json": b64}]})

    response = client_in.post(
        "/playground/image", {"prompt": "a cat", "model": painter.public_id, "n": "1"}
    )

    data = response.json()
    image = GeneratedImage.objects.get()
    assert data["images"] == [{"url": f"/v1/files/images/{image.name}"}]
    assert (data["model"], data["provider"]) == (painter.public_id, "media")
    assert RequestLog.objects.get(pk=data["request_id"]).source == "web"
    assert client_in.get(data["images"][0]["url"]).status_code == 200


@pytest.mark.parametrize(
    "count",
    ["abc", "1.5", "-1", "5", "9" * 4300, "9" * 4301, "0" * 5000 + "9" * 20],
    ids=["letters", "fraction", "negative", "too-many", "4300-digits", "4301-digits", "padded"],
)
def test_an_image_count_that_is_not_a_whole_number_from_1_to_4_is_refused_naming_n(
    client_in, painter, http_mock, count
):
    response = client_in.post(
        "/playground/image", {"prompt": "a cat", "model": painter.public_id, "n": count}
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "n"
    assert len(http_mock.calls) == 0


def test_image_analysis_answers_sanitized_markdown(client_in, eyes, http_mock):
    answer = f"A **cat**. {XSS}"
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}
    http_mock.add(responses.POST, f"{BASE}/chat/completions", json=completion)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()

    response = client_in.post(
        "/playground/analyze",
        {"prompt": "What is it?", "model": eyes.public_id, "image_url": data_url},
    )

    data = response.json()
    assert data["text"] == answer
    assert "<strong>cat</strong>" in data["html"]
    assert "<img" not in data["html"]


def test_image_analysis_takes_an_upload(client_in, eyes, http_mock):
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
    http_mock.add(responses.POST, f"{BASE}/chat/completions", json=completion)
    upload = {"prompt": "What is it?", "file": _upload()}

    response = client_in.post("/playground/analyze", upload)

    assert response.status_code == 200
    assert response.json()["text"] == "ok"


def test_image_analysis_needs_exactly_one_image(client_in, eyes):
    response = client_in.post("/playground/analyze", {"prompt": "What?"})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image_url"


def test_an_oversized_upload_is_refused_before_it_is_read(client_in, eyes, settings):
    settings.IMAGE_MAX_BYTES = 10

    response = client_in.post("/playground/analyze", {"prompt": "What?", "file": _upload()})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"


def test_speech_returns_audio_with_the_served_model(client_in, voice, http_mock):
    http_mock.add(responses.POST, f"{BASE}/audio/speech", body=MP3, content_type="audio/mpeg")

    response = client_in.post(
        "/playground/speech", {"input": "Hello", "model": voice.public_id, "voice": "onyx"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response.content == MP3
    assert response["x-openprovider-model"] == voice.public_id


def test_failures_answer_the_error_envelope(client_in):
    response = client_in.post("/playground/speech", {"input": "Hello"})

    assert response.status_code == 503
    assert response.json()["error"]["code"]


def test_the_endpoints_need_a_session_and_a_csrf_token(client, csrf_client, eyes):
    for url in ("/playground/image", "/playground/analyze", "/playground/speech"):
        assert client.post(url, {"prompt": "x"}).status_code == 302
        assert csrf_client.post(url, {"prompt": "x"}).status_code == 403

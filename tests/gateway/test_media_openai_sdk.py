"""The real openai SDK against live_server for images and speech; upstream replayed in-process."""

import base64
import urllib.request

import openai
import pytest
import responses

from tests.gateway.media_support import (
    CF_RUN,
    FLUX,
    GROQ_SPEECH,
    PNG,
    WAV,
    cloudflare_image_body,
    credential,
    media_model,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def client(live_server, created_key) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    )


@pytest.fixture
def flux(workspace):
    return media_model(credential(workspace, "cloudflare"), FLUX, "image")


@pytest.fixture
def orpheus(workspace):
    cred = credential(workspace, "groq")
    return media_model(cred, "canopylabs/orpheus-v1-english", "speech", voices=["autumn"])


def test_images_generate_with_b64_json(client, flux, http_mock):
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())

    result = client.images.generate(
        model=flux.public_id, prompt="a lighthouse at dusk", response_format="b64_json"
    )

    assert base64.b64decode(result.data[0].b64_json) == PNG
    assert result.created > 0


def test_images_generate_with_a_url_that_serves_the_image(client, flux, http_mock, live_server):
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())

    result = client.images.generate(prompt="a lighthouse at dusk", model="dall-e-3")

    url = result.data[0].url
    assert url.startswith(f"{live_server.url}/v1/files/images/")
    with urllib.request.urlopen(url, timeout=5) as served:  # noqa: S310 (loopback live_server)
        assert served.headers["Content-Type"] == "image/png"
        assert served.read() == PNG


def test_audio_speech_create_returns_the_audio_bytes(client, orpheus, http_mock):
    http_mock.add(responses.POST, GROQ_SPEECH, body=WAV, content_type="audio/wav")

    audio = client.audio.speech.create(
        model=orpheus.public_id, voice="alloy", input="Hello there.", response_format="wav"
    )

    assert audio.content == WAV
    assert audio.response.headers["content-type"] == "audio/wav"


def test_a_category_mismatch_is_a_bad_request_error(client, orpheus):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model=orpheus.public_id, prompt="a lighthouse")

    assert caught.value.code == "model_category_mismatch"


def test_non_audio_from_upstream_is_an_internal_server_error(client, orpheus, http_mock):
    http_mock.add(responses.POST, GROQ_SPEECH, body=b"<html>busy</html>", content_type="text/html")

    with pytest.raises(openai.InternalServerError) as caught:
        client.audio.speech.create(model=orpheus.public_id, voice="alloy", input="Hello")

    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_invalid_response"

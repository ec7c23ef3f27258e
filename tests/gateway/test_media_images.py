"""POST /v1/images/generations: providers replayed, fallback, category rules, stored URLs."""

import base64
import re

import pytest
import responses
from rest_framework.test import APIClient

from gateway.models import GeneratedImage
from tests.gateway.conftest import ALT_BASE
from tests.gateway.loopback_http import image_server
from tests.gateway.media_support import (
    CF_RUN,
    FLUX,
    HF_MODELS,
    PNG,
    POLLINATIONS,
    b64,
    cloudflare_image_body,
    credential,
    jpeg,
    log_row,
    media_model,
    upstream_calls,
)

URL = "/v1/images/generations"
POLLINATIONS_IMAGE = re.compile(re.escape(POLLINATIONS) + r"/image/.*")
ALT_IMAGES = f"{ALT_BASE}/images/generations"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def flux(workspace):
    return media_model(credential(workspace, "cloudflare"), FLUX, "image")


@pytest.fixture
def pollinations_flux(workspace):
    return media_model(credential(workspace, "pollinations"), "flux", "image")


@pytest.fixture
def hf_flux(workspace):
    return media_model(
        credential(workspace, "huggingface"), "black-forest-labs/FLUX.1-schnell", "image"
    )


@pytest.fixture
def relay_image(workspace):
    """A custom OpenAI-compatible provider whose image answers can carry URLs."""
    return media_model(credential(workspace, "custom", "relay", base_url=ALT_BASE), "sd", "image")


def generate(api_client, **body):
    return api_client.post(URL, {"prompt": "a red fox in snow", **body}, format="json")


def test_cloudflare_flux_base64_is_returned_as_b64_json(api_client, flux, http_mock):
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())

    response = generate(api_client, model=flux.public_id, response_format="b64_json")

    assert response.status_code == 200
    body = response.json()
    assert base64.b64decode(body["data"][0]["b64_json"]) == PNG
    assert isinstance(body["created"], int)
    assert (body["model"], body["provider"]) == (flux.public_id, "cloudflare")
    assert response["x-openprovider-model"] == flux.public_id
    assert http_mock.calls[0].request.body == b'{"prompt": "a red fox in snow"}'


def test_url_format_stores_the_image_and_serves_it_without_a_key(
    api_client, pollinations_flux, http_mock
):
    picture = jpeg()
    http_mock.add(responses.GET, POLLINATIONS_IMAGE, body=picture, content_type="image/jpeg")

    response = generate(api_client, model=pollinations_flux.public_id, size="512x512")

    url = response.json()["data"][0]["url"]
    assert re.fullmatch(r"http://testserver/v1/files/images/[A-Za-z0-9_-]{32}\.jpg", url)
    served = APIClient().get(url.removeprefix("http://testserver"))
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == picture
    assert "width=512" in http_mock.calls[0].request.url
    assert GeneratedImage.objects.get().workspace == pollinations_flux.workspace


def test_huggingface_bytes_are_returned(api_client, hf_flux, http_mock):
    http_mock.add(
        responses.POST, HF_MODELS + hf_flux.upstream_id, body=PNG, content_type="image/png"
    )

    response = generate(api_client, model=hf_flux.public_id, response_format="b64_json", n=2)

    assert [base64.b64decode(d["b64_json"]) for d in response.json()["data"]] == [PNG, PNG]
    assert len(http_mock.calls) == 2


def test_auto_falls_back_to_the_next_image_provider_on_429(
    api_client, flux, pollinations_flux, http_mock
):
    http_mock.add(responses.POST, CF_RUN + FLUX, status=429, json={"errors": [{"code": 3036}]})
    http_mock.add(responses.GET, POLLINATIONS_IMAGE, body=jpeg(), content_type="image/jpeg")

    response = generate(api_client, model="openprovider/auto-free", response_format="b64_json")

    assert response.status_code == 200
    assert response.json()["model"] == pollinations_flux.public_id
    attempts = log_row(response).attempts
    assert [(a["model"], a["status"]) for a in attempts] == [
        (flux.public_id, "rate_limited"),
        (pollinations_flux.public_id, "ok"),
    ]


def test_a_rate_limited_route_cools_down_for_the_next_request(
    api_client, flux, pollinations_flux, http_mock
):
    http_mock.add(responses.POST, CF_RUN + FLUX, status=429, headers={"Retry-After": "30"})
    http_mock.add(responses.GET, POLLINATIONS_IMAGE, body=jpeg(), content_type="image/jpeg")
    generate(api_client, model="auto", response_format="b64_json")

    second = generate(api_client, model="auto", response_format="b64_json")

    assert second.status_code == 200
    assert [url.startswith(CF_RUN) for url in upstream_calls(http_mock)] == [True, False, False]


def test_every_provider_failing_is_a_502_with_attempts(api_client, flux, hf_flux, http_mock):
    http_mock.add(responses.POST, CF_RUN + FLUX, status=500, body="<html>oops</html>")
    http_mock.add(responses.POST, HF_MODELS + hf_flux.upstream_id, status=503)

    response = generate(api_client, model="openprovider/auto-free")

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert [a["status"] for a in error["attempts"]] == ["upstream", "upstream"]
    assert "oops" not in response.content.decode()


@pytest.mark.parametrize(
    "junk",
    [
        {"json": {"result": {"image": "not base64!"}, "success": True}},
        {"json": {"result": {"image": b64(b"<svg/>")}, "success": True}},
        {"json": {"result": {}, "success": True}},
        {"body": b"<html>busy</html>", "content_type": "image/png"},
        {"body": b"{}", "content_type": "application/json"},
    ],
)
def test_junk_images_fall_back_and_end_in_upstream_invalid_response(
    api_client, flux, http_mock, junk
):
    http_mock.add(responses.POST, CF_RUN + FLUX, **junk)

    response = generate(api_client, model=flux.public_id, response_format="b64_json")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"
    assert GeneratedImage.objects.count() == 0


def test_junk_from_one_provider_falls_back_to_a_good_one(
    api_client, flux, pollinations_flux, http_mock
):
    http_mock.add(responses.POST, CF_RUN + FLUX, json={"result": {"image": b64(b"nope")}})
    http_mock.add(responses.GET, POLLINATIONS_IMAGE, body=jpeg(), content_type="image/jpeg")

    response = generate(api_client, response_format="b64_json")

    assert response.json()["model"] == pollinations_flux.public_id


def test_a_text_model_is_a_category_mismatch_without_upstream_calls(
    api_client, workspace, http_mock
):
    text = media_model(credential(workspace, "groq"), "llama-3.3-70b-versatile", "text")

    response = generate(api_client, model=text.public_id)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_category_mismatch"
    assert response.json()["error"]["param"] == "model"
    assert len(http_mock.calls) == 0


def test_an_unknown_model_is_404(api_client, flux):
    response = generate(api_client, model="cloudflare/@cf/nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_no_free_image_model_is_503(api_client, workspace):
    media_model(credential(workspace, "groq"), "llama-3.3-70b-versatile", "text")

    response = generate(api_client)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_available_model"
    assert "Retry-After" in response


def test_openai_model_names_mean_any_free_image_model(api_client, flux, http_mock):
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())

    response = generate(api_client, model="dall-e-3", response_format="b64_json")

    assert response.json()["model"] == flux.public_id


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 5}, "n"),
        ({"n": 0}, "n"),
        ({"size": "big"}, "size"),
        ({"size": "100000x10"}, "size"),
        ({"response_format": "png"}, "response_format"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 4001}, "prompt"),
        ({"stream": True}, "stream"),
        ({"stream": "false"}, "stream"),  # a boolean, not DRF's reading of "false"
        # the schema's types, not DRF's coercions: 62696 is not a style, "2" not a count
        ({"style": 62696}, "style"),
        ({"quality": 1.5}, "quality"),
        ({"size": 1024}, "size"),
        ({"prompt": 42}, "prompt"),
        ({"n": "2"}, "n"),
        ({"n": True}, "n"),
        ({"n": 1.0}, "n"),
    ],
)
def test_invalid_requests_are_400_naming_the_param(api_client, flux, http_mock, body, param):
    response = generate(api_client, model=flux.public_id, **body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert len(http_mock.calls) == 0


def test_a_provider_url_to_an_internal_address_is_never_fetched(
    api_client, relay_image, http_mock, settings
):
    with image_server(PNG) as internal:
        http_mock.add(responses.POST, ALT_IMAGES, json={"data": [{"url": internal.url()}]})

        response = generate(api_client, model=relay_image.public_id, response_format="b64_json")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"
    assert internal.hits == []


def test_a_provider_url_is_fetched_through_the_guard_when_allowed(
    api_client, relay_image, http_mock, settings
):
    with image_server(PNG) as cdn:
        settings.IMAGE_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{cdn.port}"]
        http_mock.add(
            responses.POST,
            ALT_IMAGES,
            json={"data": [{"url": cdn.url(), "revised_prompt": "a fox, red, in snow"}]},
        )

        response = generate(api_client, model=relay_image.public_id, response_format="b64_json")

    entry = response.json()["data"][0]
    assert base64.b64decode(entry["b64_json"]) == PNG
    assert entry["revised_prompt"] == "a fox, red, in snow"
    assert len(cdn.hits) == 1


def test_a_provider_data_url_is_decoded_and_checked(api_client, relay_image, http_mock):
    http_mock.add(
        responses.POST, ALT_IMAGES, json={"data": [{"url": f"data:image/png;base64,{b64(PNG)}"}]}
    )

    response = generate(api_client, model=relay_image.public_id, response_format="b64_json")

    assert base64.b64decode(response.json()["data"][0]["b64_json"]) == PNG


def test_the_request_log_names_the_endpoint_and_the_served_model(api_client, flux, http_mock):
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())

    response = generate(api_client, model=flux.public_id)

    row = log_row(response)
    assert (row.endpoint, row.status, row.http_status) == ("images.generations", "success", 200)
    assert (row.requested_model, row.served_model, row.provider) == (
        flux.public_id,
        flux.public_id,
        "cloudflare",
    )


def test_a_failed_request_is_logged_too(api_client, flux):
    response = generate(api_client, model="cloudflare/unknown")

    row = log_row(response)
    assert (row.endpoint, row.status, row.error_code) == (
        "images.generations",
        "error",
        "model_not_found",
    )


def test_the_per_key_rate_limit_applies(api_client, created_key, flux, http_mock):
    created_key.api_key.rpm_limit = 1
    created_key.api_key.save()
    http_mock.add(responses.POST, CF_RUN + FLUX, json=cloudflare_image_body())
    generate(api_client, model=flux.public_id, response_format="b64_json")

    second = generate(api_client, model=flux.public_id, response_format="b64_json")

    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    assert second["x-ratelimit-limit"] == "1"
    assert len(http_mock.calls) == 1

"""Pollinations: key optional, pollen pricing, GET image and audio.

No real payload was captured: the listings follow the documented shape of GET /text/models and
GET /image/models (fisventurous/pollinations APIDOCS.md, API 0.3.0; PROVIDERS.md §2.13).
"""

import base64

import pytest
from responses import matchers

from providers.errors import ProviderError

from .conftest import assert_key_in_header_only, free_ids, make_adapter

ROOT = "https://gen.pollinations.ai"
TEXT_MODELS = [
    {
        "name": "openai",
        "aliases": [],
        "pricing": {"promptTextTokens": 0, "completionTextTokens": 0, "currency": "pollen"},
        "input_modalities": ["text", "image"],
        "output_modalities": ["text"],
        "tools": True,
        "context_window": 128000,
    },
    {
        "name": "openai-large",
        "aliases": [],
        "pricing": {"promptTextTokens": 2.2, "currency": "pollen"},
        "input_modalities": ["text"],
        "output_modalities": ["text"],
    },
    {
        "name": "openai-audio",
        "aliases": [],
        "input_modalities": ["text"],
        "output_modalities": ["audio", "text"],
        "voices": ["alloy", "nova"],
    },
]
IMAGE_MODELS = [
    {"name": "flux", "aliases": [], "pricing": {"completionImageTokens": 0, "currency": "pollen"},
     "input_modalities": ["text"], "output_modalities": ["image"]},
    {"name": "veo", "aliases": [], "pricing": {"completionVideoSeconds": 0, "currency": "pollen"},
     "input_modalities": ["text"], "output_modalities": ["video"]},
]  # fmt: skip


def test_zero_pricing_is_free_absent_pricing_is_not_and_video_is_dropped():
    models = {
        m.upstream_id: m
        for m in make_adapter("pollinations").parse_rows(TEXT_MODELS + IMAGE_MODELS)
    }

    assert set(models) == {"openai", "openai-large", "openai-audio", "flux"}
    assert free_ids(models.values()) == {"openai", "flux"}
    assert models["openai-audio"].not_free_reason == "price_unreadable"
    assert models["openai-large"].not_free_reason == "paid"
    assert models["openai"].category == "vision"
    assert models["openai"].capabilities["tools"] is True
    assert models["openai-audio"].category == "speech"
    assert models["openai-audio"].voices == ["alloy", "nova"]
    assert models["flux"].category == "image"
    assert models["openai"].free_evidence.startswith("free tier allowance (pollen)")


def test_listing_reads_both_catalogs(http_mock):
    http_mock.get(f"{ROOT}/text/models", json=TEXT_MODELS)
    http_mock.get(f"{ROOT}/image/models", json=IMAGE_MODELS)

    models = make_adapter("pollinations").list_models()

    assert len(models) == 4
    assert_key_in_header_only(http_mock.calls[0])


def test_keyless_listing_sends_no_authorization(http_mock):
    http_mock.get(f"{ROOT}/text/models", json=TEXT_MODELS)
    http_mock.get(f"{ROOT}/image/models", json=IMAGE_MODELS)

    make_adapter("pollinations", api_key="").list_models()

    assert "Authorization" not in http_mock.calls[0].request.headers


def test_chat_round_trip(http_mock):
    http_mock.post(
        f"{ROOT}/v1/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]},
    )

    answer = make_adapter("pollinations").chat({"model": "openai", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "ok"
    assert_key_in_header_only(http_mock.calls[0])


def test_generate_image_gets_bytes_by_url(http_mock):
    http_mock.get(
        f"{ROOT}/image/a%20cat%2Fdog",
        body=b"\xff\xd8jpeg",
        content_type="image/jpeg",
        match=[
            matchers.query_param_matcher(
                {"model": "flux", "width": "512", "height": "256", "seed": "7"}
            )
        ],
    )

    images = make_adapter("pollinations").generate_image(
        {"model": "flux", "prompt": "a cat/dog", "size": "512x256", "seed": 7}
    )

    assert images == [
        {"b64_json": base64.b64encode(b"\xff\xd8jpeg").decode(), "content_type": "image/jpeg"}
    ]
    assert_key_in_header_only(http_mock.calls[0])


def test_generate_image_refuses_a_non_image_answer(http_mock):
    http_mock.get(
        f"{ROOT}/image/x",
        json={"status": 200},
        match=[matchers.query_param_matcher({"model": "flux"})],
    )

    with pytest.raises(ProviderError) as caught:
        make_adapter("pollinations").generate_image(
            {"model": "flux", "prompt": "x", "size": "junk"}
        )

    assert caught.value.kind == "invalid_response"


def test_speech_gets_mp3_by_url(http_mock):
    http_mock.get(
        f"{ROOT}/audio/Hello%20world",
        body=b"ID3mp3",
        content_type="audio/mpeg",
        match=[matchers.query_param_matcher({"voice": "nova", "model": "openai-audio"})],
    )

    audio = make_adapter("pollinations").speech(
        {"model": "openai-audio", "input": "Hello world", "voice": "nova"}
    )

    assert audio == (b"ID3mp3", "audio/mpeg")


def test_payment_required_is_unavailable(http_mock):
    body = {
        "status": 402,
        "success": False,
        "error": {"code": "PAYMENT_REQUIRED", "message": "Insufficient pollen balance"},
    }
    http_mock.post(f"{ROOT}/v1/chat/completions", status=402, json=body)

    with pytest.raises(ProviderError) as caught:
        make_adapter("pollinations").chat({"model": "openai-large", "messages": []})

    assert caught.value.kind == "unavailable"
    assert "Insufficient pollen balance" in caught.value.message


@pytest.mark.parametrize(
    "pricing",
    [
        None,
        {},
        {"currency": "pollen"},
        {"promptTextTokens": "ask", "currency": "pollen"},
        {"promptTextTokens": 0, "completionTextTokens": "Infinity"},
        {"promptTextTokens": -1, "currency": "pollen"},
    ],
)
def test_a_model_without_a_readable_zero_price_is_not_free(pricing):
    row = {**TEXT_MODELS[0], "pricing": pricing}

    (model,) = make_adapter("pollinations").parse_rows([row])

    assert (model.free, model.not_free_reason) == (False, "price_unreadable")

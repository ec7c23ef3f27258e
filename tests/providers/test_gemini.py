"""Gemini: native paginated listing with the allow-list, compat chat, TTS as WAV, errors."""

import base64
import io
import wave

import pytest
from django.test import override_settings
from responses import matchers

from providers.errors import ProviderError
from providers.gemini import is_free
from providers.registry import PROVIDERS

from .conftest import CANARY, assert_key_in_header_only, by_id, fixture, free_ids, ids, make_adapter

COMPAT = "https://generativelanguage.googleapis.com/v1beta/openai"
NATIVE = "https://generativelanguage.googleapis.com/v1beta"


def listing():
    return make_adapter("gemini").parse_rows(
        fixture("gemini/models_list_native_trimmed.json")["models"]
    )


def test_generate_content_and_embed_content_models_are_listed():
    # Imagen (predict) and Veo (predictLongRunning) are dropped
    assert ids(listing()) == {
        "gemini-embedding-001",
        "gemini-2.5-flash",
        "gemini-2.5-flash-preview-tts",
        "gemma-4-31b-it",
        "gemini-2.5-flash-image",
        "gemini-3.1-flash-lite",
        "gemini-3.1-flash-tts-preview",
    }


def test_free_is_the_registry_families_on_the_real_listing():
    # gemma-4 is not on the July-2026 free list; image models are never free by default
    assert free_ids(listing()) == {
        "gemini-embedding-001",
        "gemini-2.5-flash",
        "gemini-2.5-flash-preview-tts",
        "gemini-3.1-flash-lite",
        "gemini-3.1-flash-tts-preview",
    }


@pytest.mark.parametrize(
    "upstream_id",
    [
        "gemini-2.5-flash",
        "gemini-2.5-flash-latest",
        "gemini-2.5-flash-preview",
        "gemini-2.5-flash-preview-05-20",
        "gemini-2.5-flash-preview-09-2025",
        "gemini-2.5-flash-exp",
        "gemini-2.5-flash-exp-1206",
        "gemini-2.5-flash-001",
        "gemini-2.5-flash-lite-preview-06-17",
        "gemini-3-flash-preview",
        "gemini-3.1-flash-lite-preview",
        "gemini-3.1-flash-tts-preview",
        "gemini-2.5-flash-preview-tts",
        "gemini-robotics-er-1.5-preview",
        "gemma-3-27b-it",
        "gemma-3-1b-it",
        "gemini-embedding-001",
    ],
)
def test_a_free_family_is_free_under_each_of_its_aliases(upstream_id):
    assert is_free(upstream_id, PROVIDERS["gemini"].free_families)


@pytest.mark.parametrize(
    "upstream_id",
    [
        "gemini-2.5-flash-image",  # image models are another, paid family
        "gemini-2.5-flash-image-preview",
        "gemini-3-pro-image-preview",
        "gemini-2.5-pro",  # pro is not on the free tier
        "gemini-2.5-pro-preview-05-06",
        "gemini-3-pro-preview",
        "gemini-2.5-flash-live-preview",
        "gemini-2.5-flash-preview-tts-hd",
        "gemini-2.5-flashy",
        "xgemini-2.5-flash",
        "gemma-4-31b-it",
        "imagen-4.0-generate-001",
        "gemini-embedding-2-preview",  # only 001 is on the free list
    ],
)
def test_other_families_are_not_matched_by_accident(upstream_id):
    assert not is_free(upstream_id, PROVIDERS["gemini"].free_families)


def test_a_renamed_free_model_in_the_real_listing_stays_free():
    row = fixture("gemini/models_list_native_trimmed.json")["models"][0]
    renamed = {**row, "name": "models/gemini-2.5-flash-preview-09-2025"}

    (model,) = make_adapter("gemini").parse_rows([renamed])

    assert model.free
    assert model.free_evidence == "Gemini API free tier (a free-tier model family)"


@override_settings(GEMINI_EXTRA_FREE_MODELS=["gemma-4-*", "gemini-2.5-flash-image"])
def test_operators_add_free_models_with_patterns():
    assert free_ids(listing()) == {
        "gemini-embedding-001",
        "gemini-2.5-flash",
        "gemini-2.5-flash-preview-tts",
        "gemini-3.1-flash-lite",
        "gemini-3.1-flash-tts-preview",
        "gemma-4-31b-it",
        "gemini-2.5-flash-image",
    }


def test_categories_limits_and_voices():
    models = by_id(listing())

    assert models["gemini-2.5-flash"].category == "vision"
    assert models["gemma-4-31b-it"].category == "vision"
    assert models["gemini-2.5-flash-image"].category == "image"
    assert models["gemini-3.1-flash-tts-preview"].category == "speech"
    assert "Kore" in models["gemini-3.1-flash-tts-preview"].voices
    flash = models["gemini-2.5-flash"]
    assert (flash.context_length, flash.max_output_tokens) == (1048576, 65536)
    assert flash.name == "Gemini 2.5 Flash"


def test_listing_follows_next_page_token_with_the_key_in_x_goog_api_key(http_mock):
    first = fixture("gemini/models_list_native_trimmed.json")
    token = first["nextPageToken"]
    second = {
        "models": [
            {"name": "models/gemma-3-27b-it", "supportedGenerationMethods": ["generateContent"]}
        ]
    }
    http_mock.get(
        f"{NATIVE}/models",
        json=second,
        match=[matchers.query_param_matcher({"pageSize": "1000", "pageToken": token})],
    )
    http_mock.get(
        f"{NATIVE}/models", json=first, match=[matchers.query_param_matcher({"pageSize": "1000"})]
    )

    models = make_adapter("gemini").list_models()

    assert "gemma-3-27b-it" in free_ids(models)
    assert len(http_mock.calls) == 2
    for call in http_mock.calls:
        assert_key_in_header_only(call, "x-goog-api-key")
        assert "Authorization" not in call.request.headers  # a Bearer key reads as OAuth


def test_chat_goes_to_the_openai_compatible_base_with_bearer(http_mock):
    http_mock.post(
        f"{COMPAT}/chat/completions", json=fixture("gemini/openai_compat_chat_completion.json")
    )

    answer = make_adapter("gemini").chat({"model": "gemini-2.5-flash", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "The current time is Noon."
    assert http_mock.calls[0].request.headers["Authorization"] == f"Bearer {CANARY}"
    assert CANARY not in http_mock.calls[0].request.url


def test_invalid_key_400_maps_to_auth(http_mock):
    http_mock.get(
        f"{NATIVE}/models", status=400, json=fixture("gemini/error_400_api_key_invalid.json")
    )

    with pytest.raises(ProviderError) as caught:
        make_adapter("gemini").check()

    assert (caught.value.kind, caught.value.status) == ("auth", 400)


def test_free_tier_429_carries_retry_info(chat_error):
    error = chat_error(
        make_adapter("gemini"),
        429,
        fixture("gemini/error_429_quota_free_tier.json"),
        model="gemini-2.5-flash",
    )

    assert error.kind == "rate_limited"
    assert error.retry_after == pytest.approx(34.4)


def test_unknown_model_404(chat_error):
    error = chat_error(
        make_adapter("gemini"),
        404,
        fixture("gemini/error_404_model_not_found.json"),
        model="gemini-3.6-flahs",
    )

    assert error.kind == "not_found"


def test_speech_wraps_pcm_in_wav(http_mock):
    pcm = b"\x01\x00\x02\x00" * 100
    answer = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "audio/L16;codec=pcm;rate=24000",
                                "data": base64.b64encode(pcm).decode(),
                            }
                        }
                    ]
                }
            }
        ]
    }
    http_mock.post(f"{NATIVE}/models/gemini-3.1-flash-tts-preview:generateContent", json=answer)

    audio, content_type = make_adapter("gemini").speech(
        {"model": "gemini-3.1-flash-tts-preview", "input": "Hello", "voice": "Puck"}
    )

    assert content_type == "audio/wav"
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.readframes(wav.getnframes()) == pcm
    sent = http_mock.calls[0].request
    assert_key_in_header_only(http_mock.calls[0], "x-goog-api-key")
    assert b'"responseModalities": ["AUDIO"]' in sent.body
    assert b'"voiceName": "Puck"' in sent.body


def test_speech_without_audio_is_an_invalid_response(http_mock):
    http_mock.post(
        f"{NATIVE}/models/gemini-2.5-flash-preview-tts:generateContent", json={"candidates": []}
    )

    with pytest.raises(ProviderError) as caught:
        make_adapter("gemini").speech({"model": "gemini-2.5-flash-preview-tts", "input": "x"})

    assert caught.value.kind == "invalid_response"


def test_token_array_embeddings_are_refused_before_any_call(http_mock):
    with pytest.raises(ProviderError) as refused:
        make_adapter("gemini").embeddings({"model": "gemini-embedding-001", "input": [[1, 2]]})

    assert refused.value.kind == "bad_request"
    assert not http_mock.calls

"""Hugging Face router: credit-metered listing, vision chat fixture, stream, HF image API.

No /v1/models capture exists: the listing rows follow the router's documented shape
(id, architecture.input_modalities, providers[{provider, status, context_length, pricing,
supports_tools, supports_structured_output}]; PROVIDERS.md §2.9).
"""

import base64

import pytest
from responses import matchers

from providers.errors import ProviderError

from .conftest import (
    assert_key_in_header_only,
    by_id,
    fixture,
    free_ids,
    make_adapter,
    register_stream,
    sse,
)

BASE = "https://router.huggingface.co/v1"


def entry(model_id, inputs=("text",), providers=None):
    return {
        "id": model_id,
        "object": "model",
        "architecture": {"input_modalities": list(inputs), "output_modalities": ["text"]},
        "providers": providers
        if providers is not None
        else [
            {
                "provider": "nebius",
                "status": "live",
                "context_length": 32768,
                "supports_tools": True,
            },
            {"provider": "novita", "status": "live", "context_length": 131072},
        ],
    }


ROWS = [
    entry("meta-llama/Llama-3.1-8B-Instruct"),
    entry("Qwen/Qwen2.5-VL-72B-Instruct", inputs=("text", "image")),
    entry("zai-org/GLM-4.5V"),  # no modality hint, no id hint: text
    entry("intfloat/multilingual-e5-large-embed"),
    entry("old/retired-model", providers=[{"provider": "x", "status": "error"}]),
]


def test_live_chat_models_are_free_while_credits_last():
    models = by_id(make_adapter("huggingface").parse_rows(ROWS))

    assert free_ids(models.values()) == {
        "meta-llama/Llama-3.1-8B-Instruct",
        "Qwen/Qwen2.5-VL-72B-Instruct",
        "zai-org/GLM-4.5V",
    }
    llama = models["meta-llama/Llama-3.1-8B-Instruct"]
    assert "credits" in llama.free_evidence
    assert (llama.context_length, llama.capabilities["tools"]) == (131072, True)
    assert models["Qwen/Qwen2.5-VL-72B-Instruct"].category == "vision"


def test_vision_from_the_id_when_modalities_are_missing():
    row = {"id": "Qwen/Qwen2.5-VL-7B-Instruct"}

    assert make_adapter("huggingface").parse_model(row).category == "vision"


def test_list_models_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json={"object": "list", "data": ROWS})

    assert len(make_adapter("huggingface").list_models()) == 3
    assert_key_in_header_only(http_mock.calls[0])


def test_vision_chat_round_trip(http_mock):
    http_mock.post(
        f"{BASE}/chat/completions", json=fixture("huggingface/chat_completion_vision.json")
    )

    answer = make_adapter("huggingface").chat(
        {"model": "Qwen/Qwen2.5-VL-72B-Instruct", "messages": []}
    )

    assert "potato" in answer["choices"][0]["message"]["content"]
    assert_key_in_header_only(http_mock.calls[0])


def test_stream_with_a_usage_only_last_chunk(http_mock):
    register_stream(http_mock, f"{BASE}/chat/completions", sse("huggingface/chat_stream.sse"))

    chunks = list(make_adapter("huggingface").chat_stream({"model": "m", "messages": []}))

    assert chunks[1]["choices"][0]["delta"]["content"] == "Paris"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 42


def test_generate_image_through_hf_inference(http_mock):
    http_mock.post(
        "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell",
        body=b"\x89PNGbytes",
        content_type="image/png",
        match=[matchers.json_params_matcher({"inputs": "a fox"})],
    )

    images = make_adapter("huggingface").generate_image(
        {"model": "black-forest-labs/FLUX.1-schnell", "prompt": "a fox"}
    )

    assert images == [
        {"b64_json": base64.b64encode(b"\x89PNGbytes").decode(), "content_type": "image/png"}
    ]
    assert_key_in_header_only(http_mock.calls[0])


def test_generate_image_refuses_path_tricks():
    with pytest.raises(ProviderError) as caught:
        make_adapter("huggingface").generate_image({"model": "../../admin", "prompt": "x"})

    assert caught.value.kind == "bad_request"


def test_credits_exhausted_is_unavailable(chat_error):
    error = chat_error(
        make_adapter("huggingface"),
        402,
        {"error": "You have exceeded your monthly included credits"},
    )

    assert error.kind == "unavailable"

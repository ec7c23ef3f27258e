"""Cloudflare Workers AI: catalog search (v4 envelope, pages), native image and speech runs."""

import base64

import pytest
from responses import matchers

from providers.errors import ProviderError

from .conftest import CANARY, assert_key_in_header_only, by_id, fixture, free_ids, ids, make_adapter

ACCOUNT = "0123456789abcdef0123456789abcdef"
AI = f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}/ai"
CATALOG = [
    "cloudflare/model_catalog_flux-1-schnell.json",
    "cloudflare/model_catalog_melotts.json",
    "cloudflare/model_catalog_kimi-k2.6_schema_trimmed.json",
]


def adapter():
    return make_adapter("cloudflare", account_id=ACCOUNT)


def envelope(rows, total=None, page=1):
    total = len(rows) if total is None else total
    info = {"page": page, "per_page": 100, "count": len(rows), "total_count": total}
    return {"success": True, "result": rows, "result_info": info, "errors": [], "messages": []}


def catalog_rows():
    return [fixture(name) for name in CATALOG]


def test_require_workers_paid_is_not_free_and_tasks_map_to_categories():
    models = by_id(adapter().parse_rows(catalog_rows()))

    assert free_ids(models.values()) == {
        "@cf/black-forest-labs/flux-1-schnell",
        "@cf/myshell-ai/melotts",
    }
    assert models["@cf/black-forest-labs/flux-1-schnell"].category == "image"
    assert models["@cf/myshell-ai/melotts"].category == "speech"
    kimi = models["@cf/moonshotai/kimi-k2.6"]
    assert (kimi.free, kimi.category, kimi.context_length) == (False, "vision", 262144)
    assert kimi.capabilities["tools"] is True


def test_other_tasks_are_skipped():
    row = {
        **fixture(CATALOG[1]),
        "name": "@cf/facebook/detr-resnet-50",
        "task": {"name": "Object Detection"},
    }

    assert adapter().parse_model(row) is None


def test_listing_pages_through_the_search(http_mock):
    rows = catalog_rows()
    http_mock.get(
        f"{AI}/models/search",
        json=envelope(rows[:2], total=102),
        match=[matchers.query_param_matcher({"page": "1", "per_page": "100"})],
    )
    http_mock.get(
        f"{AI}/models/search",
        json=envelope(rows[2:], total=102, page=2),
        match=[matchers.query_param_matcher({"page": "2", "per_page": "100"})],
    )

    models = adapter().list_models()

    assert ids(models) == {row["name"] for row in rows}
    for call in http_mock.calls:
        assert_key_in_header_only(call)
        assert ACCOUNT in call.request.url


def test_chat_uses_the_openai_compatible_base(http_mock):
    http_mock.post(
        f"{AI}/v1/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]},
    )

    answer = adapter().chat({"model": "@cf/meta/llama-3.1-8b-instruct", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "hi"
    assert_key_in_header_only(http_mock.calls[0])


def test_generate_image_returns_b64_json(http_mock):
    image = base64.b64encode(b"\x89PNG...").decode()
    http_mock.post(
        f"{AI}/run/@cf/black-forest-labs/flux-1-schnell",
        json={"success": True, "result": {"image": image}},
        match=[matchers.json_params_matcher({"prompt": "a cat", "steps": 4})],
    )

    images = adapter().generate_image(
        {"model": "@cf/black-forest-labs/flux-1-schnell", "prompt": "a cat", "steps": 4}
    )

    assert images == [{"b64_json": image}]
    assert_key_in_header_only(http_mock.calls[0])


def test_speech_melotts_json_and_binary_answers(http_mock):
    mp3 = b"ID3\x03mp3-bytes"
    http_mock.post(
        f"{AI}/run/@cf/myshell-ai/melotts",
        json={"success": True, "result": {"audio": base64.b64encode(mp3).decode()}},
        match=[matchers.json_params_matcher({"prompt": "bonjour", "lang": "fr"})],
    )
    http_mock.post(
        f"{AI}/run/@cf/myshell-ai/melotts",
        body=mp3,
        content_type="audio/mpeg",
        match=[matchers.json_params_matcher({"prompt": "hello", "lang": "en"})],
    )

    as_json = adapter().speech(
        {"model": "@cf/myshell-ai/melotts", "input": "bonjour", "voice": "fr"}
    )
    as_bytes = adapter().speech(
        {"model": "@cf/myshell-ai/melotts", "input": "hello", "voice": "alloy"}
    )

    assert as_json == (mp3, "audio/mpeg")
    assert as_bytes == (mp3, "audio/mpeg")


def test_image_answer_without_image_is_invalid(http_mock):
    http_mock.post(f"{AI}/run/@cf/x/y", json={"success": True, "result": {"image": 12}})

    with pytest.raises(ProviderError) as caught:
        adapter().generate_image({"model": "@cf/x/y", "prompt": "p"})

    assert caught.value.kind == "invalid_response"


def test_401_maps_to_auth_with_the_envelope_message(http_mock):
    http_mock.get(f"{AI}/models/search", status=401, json=fixture("cloudflare/error_401.json"))

    with pytest.raises(ProviderError) as caught:
        adapter().check()

    assert caught.value.kind == "auth"
    assert "Authentication error" in caught.value.message
    assert CANARY not in str(caught.value)


def test_bad_account_path_404(chat_error):
    error = chat_error(adapter(), 404, fixture("cloudflare/error_404_bad_account_path.json"))

    assert error.kind == "not_found"
    assert "Could not route" in error.message

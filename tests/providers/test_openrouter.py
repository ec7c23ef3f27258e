"""OpenRouter: the strict free rule on the real Aug-2026 listing, chat, stream and errors."""

import pytest

from providers.errors import ProviderError
from providers.openrouter import not_free_reason

from .conftest import (
    CANARY,
    assert_key_in_header_only,
    by_id,
    fixture,
    free_ids,
    ids,
    make_adapter,
    register_stream,
    sse,
)

BASE = "https://openrouter.ai/api/v1"
SKIPPED_KINDS = {
    "nvidia/nemotron-3.5-content-safety:free",  # a safety classifier: text out, but not chat
}
EMBEDDINGS = {"nvidia/nemotron-3-embed-1b:free", "nvidia/llama-nemotron-embed-vl-1b-v2:free"}
RERANK = "nvidia/llama-nemotron-rerank-vl-1b-v2:free"


def test_free_subset_is_free_except_rerank_and_safety_which_are_dropped():
    # given the 23 real :free entries (17 text/vision, 1 content-safety, 2 speech, 2 embeddings,
    # 1 rerank)
    rows = fixture("openrouter/models_list_free_subset.json")["data"]

    # when they are parsed
    models = make_adapter("openrouter").parse_rows(rows)

    # then the 21 chat/speech/embedding models are free and rerank/safety are not served
    expected = {row["id"] for row in rows} - SKIPPED_KINDS - {RERANK}
    assert free_ids(models) == expected
    assert len(expected) == 21
    assert ids(models) == expected
    assert {m.upstream_id for m in models if m.category == "embedding"} == EMBEDDINGS


def test_categories_come_from_modalities():
    rows = fixture("openrouter/models_list_free_subset.json")["data"]
    models = by_id(make_adapter("openrouter").parse_rows(rows))

    assert {m for m, info in models.items() if info.category == "speech"} == {
        "deepgram/flux-tts:free",
        "fish-audio/s2.1-pro-free:free",
    }
    assert models["google/gemma-4-31b-it:free"].category == "vision"
    assert models["openrouter/free"].category == "vision"
    assert models["liquid/lfm-2.5-2.6b:free"].category == "text"
    assert "flux-alexis-en" in models["deepgram/flux-tts:free"].voices
    assert models["fish-audio/s2.1-pro-free:free"].voices == []


def test_context_max_output_and_tools_are_read():
    rows = fixture("openrouter/models_list_free_subset.json")["data"]
    models = by_id(make_adapter("openrouter").parse_rows(rows))

    dots = models["dots-studio/dots-3-note-preview:free"]
    assert (dots.context_length, dots.max_output_tokens) == (512000, 512000)
    assert dots.capabilities == {
        "tools": True,
        "structured_output": True,
        "vision": True,
        "streaming": True,
    }
    assert models["deepgram/flux-tts:free"].context_length is None  # 0 means unknown
    assert models["openrouter/free"].context_length == 200000


def test_zero_prompt_and_completion_is_not_enough():
    # given 60 real models priced 0/0 but billed through image_output, request, video…
    rows = fixture("openrouter/models_list_zero_prompt_completion_but_not_free.json")["data"]

    models = make_adapter("openrouter").parse_rows(rows)

    assert rows
    assert not free_ids(models)


def test_full_listing_free_set_matches_the_subset():
    everything = fixture("openrouter/models_list_output_modalities_all.json")["data"]
    subset = fixture("openrouter/models_list_free_subset.json")["data"]

    models = make_adapter("openrouter").parse_rows(everything)

    assert free_ids(models) == {row["id"] for row in subset} - SKIPPED_KINDS - {RERANK}
    assert {m.category for m in models} == {"text", "vision", "image", "speech", "embedding"}


@pytest.mark.parametrize(
    ("upstream_id", "pricing", "reason"),
    [
        ("a/b:free", {"prompt": "0", "completion": "0", "image_output": "0.00004"}, "paid"),
        ("a/b:free", {"prompt": "0", "completion": "0", "overrides": []}, ""),
        ("openrouter/free", {"prompt": "0", "completion": "0"}, ""),
        ("a/b:free", {}, "price_unreadable"),
        ("a/b:free", None, "price_unreadable"),
        ("a/b:free", {"prompt": "0"}, "price_unreadable"),
        ("a/b:free", {"completion": "0"}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": "ask"}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": "NaN"}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": "Infinity"}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": None}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": ""}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": "0", "request": "-1"}, "price_unreadable"),
        ("a/b:free", {"prompt": "0", "completion": "0", "image": {"per": "0"}}, "price_unreadable"),
        (
            "a/b:free",
            {"prompt": "0", "completion": "0", "overrides": [{"prompt": "0.001"}]},
            "price_unreadable",
        ),
        ("a/b:free", [["prompt", "0"], ["completion", "0"]], "price_unreadable"),
        ("openrouter/auto", {"prompt": "-1", "completion": "-1"}, "paid"),
        ("a/b", {"prompt": "0", "completion": "0"}, "paid"),
    ],
)
def test_free_rule_fails_closed(upstream_id, pricing, reason):
    assert not_free_reason(upstream_id, pricing) == reason


def test_an_unreadable_price_on_a_free_variant_is_listed_as_not_free_with_its_reason():
    row = fixture("openrouter/models_list_free_subset.json")["data"][0]
    row = {**row, "pricing": {"prompt": "0", "completion": "ask"}}

    (model,) = make_adapter("openrouter").parse_rows([row])

    assert (model.free, model.not_free_reason, model.free_evidence) == (
        False,
        "price_unreadable",
        "",
    )


def test_every_real_free_variant_reads_as_free_and_every_zero_priced_trap_as_paid():
    free_rows = fixture("openrouter/models_list_free_subset.json")["data"]
    traps = fixture("openrouter/models_list_zero_prompt_completion_but_not_free.json")["data"]

    assert len(free_rows) == 23
    assert len(traps) == 60
    assert all(not_free_reason(r["id"], r["pricing"]) == "" for r in free_rows)
    assert all(not_free_reason(r["id"], r["pricing"]) == "paid" for r in traps)


def test_list_models_round_trip_asks_for_every_modality(http_mock):
    http_mock.get(
        f"{BASE}/models?output_modalities=all",
        json=fixture("openrouter/models_list_free_subset.json"),
    )

    models = make_adapter("openrouter").list_models()

    assert len(models) == 21
    assert_key_in_header_only(http_mock.calls[0])


def test_check_uses_the_authenticated_key_endpoint(http_mock):
    http_mock.get(f"{BASE}/key", status=401, json=fixture("openrouter/error_401_invalid_key.json"))

    with pytest.raises(ProviderError) as caught:
        make_adapter("openrouter").check()

    assert caught.value.kind == "auth"


def test_chat_round_trip(http_mock):
    http_mock.post(
        f"{BASE}/chat/completions", json=fixture("openrouter/chat_completion_free_model.json")
    )

    answer = make_adapter("openrouter").chat(
        {
            "model": "google/gemini-2.0-flash-exp:free",
            "messages": [{"role": "user", "content": "x"}],
        }
    )

    assert answer["choices"][0]["message"]["content"].startswith("Why don't scientists")
    assert_key_in_header_only(http_mock.calls[0])


def test_midstream_error_chunk_raises_after_the_good_chunks(http_mock):
    register_stream(
        http_mock,
        f"{BASE}/chat/completions",
        sse("openrouter/chat_stream_free_model_midstream_error.sse"),
    )
    chunks = []
    stream = make_adapter("openrouter").chat_stream({"model": "m", "messages": []})

    with pytest.raises(ProviderError) as caught:
        chunks.extend(stream)

    assert len(chunks) == 3  # comments skipped, then the error chunk stops the stream
    assert "Token limit reached" in caught.value.message


def test_fallback_stream_parses_to_the_end(http_mock):
    register_stream(
        http_mock, f"{BASE}/chat/completions", sse("openrouter/chat_stream_models_fallback.sse")
    )

    chunks = list(make_adapter("openrouter").chat_stream({"model": "m", "messages": []}))

    assert chunks
    assert chunks[-1].get("usage")


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("error_401_missing_key.json", 401, "auth"),
        ("error_401_invalid_key.json", 401, "auth"),
        ("error_429_upstream_rate_limited.json", 429, "rate_limited"),
        ("error_429_free_models_per_day_high_balance.json", 429, "rate_limited"),
    ],
)
def test_error_fixtures_map_to_kinds(name, status, kind, chat_error):
    error = chat_error(make_adapter("openrouter"), status, fixture(f"openrouter/{name}"))

    assert (error.kind, error.status) == (kind, status)
    assert CANARY not in str(error)


def test_rate_limit_reset_from_metadata_headers(chat_error):
    # the classic daily-quota body quoted in Gitlawb/openclaude#936 (reset in epoch ms)
    import time

    reset_ms = int((time.time() + 120) * 1000)
    body = {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-day.",
            "metadata": {
                "headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Reset": str(reset_ms)}
            },
        }
    }
    error = chat_error(make_adapter("openrouter"), 429, body)

    assert 100 < error.retry_after <= 120

"""Groq: the real 20-model listing, chat, streams (incl. the mid-stream error event), errors."""

import pytest

from providers.errors import ProviderError

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

BASE = "https://api.groq.com/openai/v1"
NOT_SERVED = {
    "meta-llama/llama-prompt-guard-2-22m",
    "meta-llama/llama-prompt-guard-2-86m",
    "meta-llama/llama-guard-4-12b",
    "openai/gpt-oss-safeguard-20b",
}


def listing():
    return make_adapter("groq").parse_rows(fixture("groq/models_list.json")["data"])


def test_every_active_model_but_guards_is_free():
    rows = fixture("groq/models_list.json")["data"]

    models = listing()

    assert free_ids(models) == ids(models) == {row["id"] for row in rows} - NOT_SERVED
    assert {m.free_evidence for m in models} == {"Groq Free plan (per-model rate limits)"}


def test_categories_by_id():
    models = by_id(listing())

    assert models["canopylabs/orpheus-v1-english"].category == "speech"
    assert models["canopylabs/orpheus-v1-english"].voices == [
        "autumn", "diana", "hannah", "austin", "daniel", "troy",
    ]  # fmt: skip
    assert models["canopylabs/orpheus-arabic-saudi"].category == "speech"
    assert models["meta-llama/llama-4-scout-17b-16e-instruct"].category == "vision"
    assert models["meta-llama/llama-4-maverick-17b-128e-instruct"].category == "vision"
    assert models["llama-3.3-70b-versatile"].category == "text"
    assert models["whisper-large-v3-turbo"].category == "transcription"
    assert not models["whisper-large-v3-turbo"].capabilities["streaming"]


def test_context_and_max_output():
    models = by_id(listing())

    kimi = models["moonshotai/kimi-k2-instruct-0905"]
    assert (kimi.context_length, kimi.max_output_tokens) == (262144, 16384)
    assert kimi.capabilities["tools"]
    assert kimi.capabilities["streaming"]


def test_inactive_models_are_dropped():
    row = {**fixture("groq/models_list.json")["data"][1], "active": False}

    assert make_adapter("groq").parse_model(row) is None


def test_list_models_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json=fixture("groq/models_list.json"))

    models = make_adapter("groq").list_models()

    assert len(models) == 16
    assert_key_in_header_only(http_mock.calls[0])


def test_chat_round_trip(http_mock):
    http_mock.post(f"{BASE}/chat/completions", json=fixture("groq/chat_completion.json"))

    answer = make_adapter("groq").chat({"model": "llama-3.3-70b-versatile", "messages": []})

    assert answer["choices"][0]["message"]["content"].startswith("I'd like to introduce")
    assert_key_in_header_only(http_mock.calls[0])


def test_stream_parses_to_done(http_mock):
    register_stream(http_mock, f"{BASE}/chat/completions", sse("groq/chat_stream.sse"))

    chunks = list(make_adapter("groq").chat_stream({"model": "m", "messages": []}))

    assert chunks[-1]["choices"][0]["finish_reason"]


def test_midstream_error_event_raises(http_mock):
    register_stream(
        http_mock, f"{BASE}/chat/completions", sse("groq/chat_stream_midstream_error_event.sse")
    )
    received = []
    stream = make_adapter("groq").chat_stream({"model": "m", "messages": []})

    with pytest.raises(ProviderError) as caught:
        received.extend(stream)

    assert received  # the good chunks arrived before the error
    assert "Tool call validation failed" in caught.value.message


@pytest.mark.parametrize(
    ("name", "status", "kind", "retry_after"),
    [
        ("error_401.json", 401, "auth", None),
        ("error_429.json", 429, "rate_limited", 50.597142857),
        ("error_429_tpm_2026.json", 429, "rate_limited", 1.984999999),
        ("error_404_model_not_found.json", 404, "not_found", None),
        ("error_400_tool_use_failed.json", 400, "bad_request", None),
    ],
)
def test_error_fixtures(name, status, kind, retry_after, chat_error):
    error = chat_error(make_adapter("groq"), status, fixture(f"groq/{name}"))

    assert (error.kind, error.status) == (kind, status)
    expected_retry = pytest.approx(retry_after) if retry_after else None
    assert error.retry_after == expected_retry
    assert CANARY not in str(error)

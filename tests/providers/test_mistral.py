"""Mistral: capability flags, content-part normalization in streams, error bodies."""

import pytest

from providers.mistral import plain_content

from .conftest import (
    CANARY,
    assert_key_in_header_only,
    by_id,
    fixture,
    free_ids,
    make_adapter,
    register_stream,
    sse,
)

BASE = "https://api.mistral.ai/v1"


def listing():
    return make_adapter("mistral").parse_rows(fixture("mistral/models_list.json")["data"])


def test_chat_models_are_free_and_ocr_and_moderation_are_dropped():
    assert free_ids(listing()) == {
        "mistral-medium-latest",
        "open-mistral-nemo",
        "devstral-small-2507",
        "voxtral-mini-2507",
    }


def test_categories_tools_and_context():
    models = by_id(listing())

    assert models["mistral-medium-latest"].category == "vision"
    assert models["open-mistral-nemo"].category == "text"
    assert models["voxtral-mini-2507"].capabilities["tools"] is False
    assert models["devstral-small-2507"].capabilities["tools"] is True
    assert models["mistral-medium-latest"].context_length == 131072


def test_deprecated_models_are_dropped():
    row = {**fixture("mistral/models_list.json")["data"][0], "deprecation": "2026-12-01T00:00:00Z"}

    assert make_adapter("mistral").parse_model(row) is None


def _embed_row(upstream_id):
    """A real listing row with every capability off, as Mistral lists its embedding models."""
    row = fixture("mistral/models_list.json")["data"][1]
    return {**row, "id": upstream_id, "capabilities": dict.fromkeys(row["capabilities"], False)}


def test_embedding_models_are_free_embedding_models():
    rows = [_embed_row("mistral-embed"), _embed_row("codestral-embed-2505")]

    models = by_id(make_adapter("mistral").parse_rows(rows))

    assert {i: m.category for i, m in models.items()} == {
        "mistral-embed": "embedding",
        "codestral-embed-2505": "embedding",
    }
    assert all(m.free and not m.capabilities["streaming"] for m in models.values())


def test_a_model_without_chat_that_is_no_embedding_model_is_dropped():
    assert make_adapter("mistral").parse_model(_embed_row("mistral-something")) is None


def test_embeddings_round_trip(http_mock):
    answer = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}]}
    http_mock.post(f"{BASE}/embeddings", json=answer)

    result = make_adapter("mistral").embeddings({"model": "mistral-embed", "input": ["hi"]})

    assert result["data"][0]["embedding"] == [0.1]
    assert_key_in_header_only(http_mock.calls[0])


def test_list_models_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json=fixture("mistral/models_list.json"))

    assert len(make_adapter("mistral").list_models()) == 4
    assert_key_in_header_only(http_mock.calls[0])


def test_chat_round_trip(http_mock):
    http_mock.post(f"{BASE}/chat/completions", json=fixture("mistral/chat_completion.json"))

    answer = make_adapter("mistral").chat({"model": "ministral-8b-latest", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "The capital of France is "
    assert_key_in_header_only(http_mock.calls[0])


def test_stream_content_arrays_become_strings_and_thinking_becomes_reasoning(http_mock):
    # magistral sends delta.content as [{"type": "thinking", "thinking": [...]}] parts
    register_stream(http_mock, f"{BASE}/chat/completions", sse("mistral/chat_stream.sse"))

    chunks = list(make_adapter("mistral").chat_stream({"model": "magistral", "messages": []}))

    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    assert all(isinstance(d.get("content", ""), str) for d in deltas)
    text = "".join(d.get("content") or "" for d in deltas)
    assert text.endswith("can ensure a safe crossing.")
    assert "Okay, the user" not in text  # thinking is not content
    reasoning = "".join(d.get("reasoning") or "" for d in deltas)
    assert reasoning.startswith("Okay, the user")


def test_non_stream_content_parts_are_normalized_too():
    data = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
                        {"type": "text", "text": "Paris"},
                    ]
                }
            }
        ]
    }

    assert (
        make_adapter("mistral").from_provider(data)["choices"][0]["message"]["content"] == "Paris"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [("plain", "plain"), (None, None), ([{"type": "text", "text": 5}, "junk"], "")],
)
def test_plain_content_tolerates_junk(content, expected):
    assert plain_content(content) == expected


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("error_401.json", 401, "auth"),
        ("error_429_rate_limited.json", 429, "rate_limited"),
        ("error_429_legacy.json", 429, "rate_limited"),
        ("error_capacity_exceeded.json", 503, "upstream"),
    ],
)
def test_error_fixtures(name, status, kind, chat_error):
    error = chat_error(make_adapter("mistral"), status, fixture(f"mistral/{name}"))

    assert (error.kind, error.status) == (kind, status)
    assert error.retryable
    assert CANARY not in str(error)

"""Custom OpenAI-compatible servers: base URL per credential, keyless allowed, all free."""

from .conftest import CANARY, assert_key_in_header_only, by_id, free_ids, make_adapter

BASE = "http://llm.internal.test:8080/v1"
ROWS = [
    {"id": "local-chat", "object": "model"},
    {"id": "local-vl", "object": "model", "architecture": {"input_modalities": ["text", "image"]}},
    {"id": "sdxl", "object": "model", "architecture": {"output_modalities": ["image"]}},
    {"id": "kokoro", "object": "model", "output_modalities": ["speech"]},
    {"id": "nomic-embed-text", "object": "model"},
]


def test_every_listed_model_is_free_and_text_unless_the_listing_says_otherwise():
    models = by_id(make_adapter("custom", base_url=BASE).parse_rows(ROWS))

    assert free_ids(models.values()) == {
        "local-chat", "local-vl", "sdxl", "kokoro", "nomic-embed-text",
    }  # fmt: skip
    assert {k: m.category for k, m in models.items()} == {
        "local-chat": "text",
        "local-vl": "vision",
        "sdxl": "image",
        "kokoro": "speech",
        "nomic-embed-text": "embedding",
    }
    assert models["local-chat"].free_evidence == "self-hosted"


def test_round_trip_with_a_key(http_mock):
    http_mock.get(f"{BASE}/models", json={"data": ROWS})
    http_mock.post(
        f"{BASE}/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]},
    )
    adapter = make_adapter("custom", base_url=BASE)

    assert len(adapter.list_models()) == 5
    assert adapter.chat({"model": "local-chat", "messages": []})["choices"]
    for call in http_mock.calls:
        assert_key_in_header_only(call)


def test_keyless_sends_no_authorization(http_mock):
    http_mock.get(f"{BASE}/models", json={"data": ROWS})

    make_adapter("custom", api_key="", base_url=BASE).list_models()

    assert "Authorization" not in http_mock.calls[0].request.headers
    assert CANARY not in http_mock.calls[0].request.url

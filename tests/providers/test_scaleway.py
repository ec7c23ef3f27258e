"""Scaleway Generative APIs: OpenAI-shaped listing, free while the trial tokens last.

No listing fixture: the rows follow the OpenAI list shape PROVIDERS.md §2.12 gives.
"""

from .conftest import assert_key_in_header_only, by_id, free_ids, make_adapter

BASE = "https://api.scaleway.ai/v1"
ROWS = [
    {"id": "llama-3.3-70b-instruct", "object": "model", "owned_by": "scaleway"},
    {"id": "pixtral-12b-2409", "object": "model", "owned_by": "scaleway"},
    {"id": "bge-multilingual-gemma2-embed", "object": "model", "owned_by": "scaleway"},
    {"id": "whisper-large-v3", "object": "model", "owned_by": "scaleway"},
]


def test_every_model_is_free_pixtral_is_vision_and_whisper_transcribes():
    models = by_id(make_adapter("scaleway").parse_rows(ROWS))

    assert free_ids(models.values()) == {row["id"] for row in ROWS}
    assert models["pixtral-12b-2409"].category == "vision"
    assert models["bge-multilingual-gemma2-embed"].category == "embedding"
    assert models["whisper-large-v3"].category == "transcription"
    assert "1,000,000 free tokens" in models["pixtral-12b-2409"].free_evidence


def test_list_models_and_chat_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json={"object": "list", "data": ROWS})
    http_mock.post(
        f"{BASE}/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]},
    )
    adapter = make_adapter("scaleway")

    assert len(adapter.list_models()) == 4
    assert adapter.chat({"model": "llama-3.3-70b-instruct", "messages": []})["choices"]
    for call in http_mock.calls:
        assert_key_in_header_only(call)

"""NVIDIA NIM: ids only, every hosted model free (Developer Program trial).

No listing fixture: the rows follow the captured shape quoted in PROVIDERS.md §2.7
({object: "list", data: [{id, object: "model", created, owned_by}]}).
"""

from .conftest import assert_key_in_header_only, by_id, free_ids, make_adapter

BASE = "https://integrate.api.nvidia.com/v1"
IDS = [
    "meta/llama-3.3-70b-instruct",
    "meta/llama-3.2-90b-vision-instruct",
    "nvidia/nemotron-nano-12b-v2-vl",
    "nvidia/nv-embedqa-e5-v5",
    "nvidia/llama-3.2-nv-rerankqa-1b-v2",
]
LISTING = {
    "object": "list",
    "data": [
        {"id": i, "object": "model", "created": 735790403, "owned_by": i.split("/")[0]} for i in IDS
    ],
}


def test_every_chat_model_is_free_with_unknown_context():
    models = by_id(make_adapter("nvidia").parse_rows(LISTING["data"]))

    assert free_ids(models.values()) == {
        "meta/llama-3.3-70b-instruct",
        "meta/llama-3.2-90b-vision-instruct",
        "nvidia/nemotron-nano-12b-v2-vl",
    }
    assert models["meta/llama-3.3-70b-instruct"].category == "text"
    assert models["meta/llama-3.2-90b-vision-instruct"].category == "vision"
    assert models["nvidia/nemotron-nano-12b-v2-vl"].category == "vision"
    assert models["meta/llama-3.3-70b-instruct"].context_length is None
    assert (
        models["meta/llama-3.3-70b-instruct"].free_evidence
        == "NVIDIA Developer Program (trial use)"
    )


def test_list_models_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json=LISTING)

    assert len(make_adapter("nvidia").list_models()) == 3
    assert_key_in_header_only(http_mock.calls[0])


def test_chat_round_trip(http_mock):
    http_mock.post(
        f"{BASE}/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]},
    )

    assert make_adapter("nvidia").chat({"model": "meta/llama-3.3-70b-instruct", "messages": []})
    assert_key_in_header_only(http_mock.calls[0])


def test_429_title_body(chat_error):
    # the real NVIDIA 429 body has no "error" object, only a title
    error = chat_error(make_adapter("nvidia"), 429, {"status": 429, "title": "Too Many Requests"})

    assert error.kind == "rate_limited"
    assert "Too Many Requests" in error.message

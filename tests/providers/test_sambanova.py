"""SambaNova: free tier gone; calls answer 402 PAYMENT_METHOD_REQUIRED -> "unavailable".

No listing fixture: the row follows the OpenAI list shape (PROVIDERS.md §2.12).
"""

from providers.registry import PROVIDERS

from .conftest import assert_key_in_header_only, free_ids, make_adapter

BASE = "https://api.sambanova.ai/v1"


def test_off_and_nothing_is_free():
    rows = [{"id": "Meta-Llama-3.3-70B-Instruct", "object": "model"}]

    assert not PROVIDERS["sambanova"].enabled
    assert free_ids(make_adapter("sambanova").parse_rows(rows)) == set()


def test_listing_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json={"data": [{"id": "DeepSeek-V3.1", "object": "model"}]})

    (model,) = make_adapter("sambanova").list_models()

    assert (model.upstream_id, model.free) == ("DeepSeek-V3.1", False)
    assert_key_in_header_only(http_mock.calls[0])


def test_payment_required_is_unavailable(chat_error):
    body = {"error": {"code": "PAYMENT_METHOD_REQUIRED", "message": "Add a payment method"}}
    error = chat_error(make_adapter("sambanova"), 402, body)

    assert (error.kind, error.status) == ("unavailable", 402)

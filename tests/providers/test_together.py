"""Together AI: no free tier since Aug 2025; the historic -Free rule for re-enabled installs.

No listing fixture: the rows follow togethercomputer/openapi (bare array of
{id, type, display_name, context_length, pricing}; PROVIDERS.md §2.10).
"""

import pytest

from providers.registry import PROVIDERS

from .conftest import assert_key_in_header_only, by_id, free_ids, make_adapter

BASE = "https://api.together.xyz/v1"
ZERO = {"hourly": 0, "input": 0, "output": 0, "base": 0, "finetune": 0}
ROWS = [
    {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free", "type": "chat", "pricing": ZERO,
     "context_length": 131072, "display_name": "Llama 3.3 70B Free"},
    {"id": "deepseek-ai/DeepSeek-R1-Distill-Llama-70B-free", "type": "chat", "pricing": ZERO},
    {"id": "black-forest-labs/FLUX.1-schnell-Free", "type": "image", "pricing": ZERO},
    {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "type": "chat",
     "pricing": {**ZERO, "input": 0.88, "output": 0.88}},
    {"id": "paid/priced-Free", "type": "chat", "pricing": {**ZERO, "input": 0.1}},
    {"id": "BAAI/bge-large-en-v1.5", "type": "embedding", "pricing": ZERO},
]  # fmt: skip


def test_off_by_default():
    assert not PROVIDERS["together"].enabled


def test_historic_free_rule_matches_the_suffix_in_any_case_with_zero_prices():
    models = by_id(make_adapter("together").parse_rows(ROWS))

    assert free_ids(models.values()) == {
        "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-70B-free",
        "black-forest-labs/FLUX.1-schnell-Free",
    }
    assert models["black-forest-labs/FLUX.1-schnell-Free"].category == "image"
    assert "BAAI/bge-large-en-v1.5" not in models


def test_bare_array_listing_round_trip(http_mock):
    http_mock.get(f"{BASE}/models", json=ROWS)

    assert len(make_adapter("together").list_models()) == 5
    assert_key_in_header_only(http_mock.calls[0])


@pytest.mark.parametrize(
    "pricing",
    [None, {}, [], {"input": 0}, {"input": 0, "output": "ask"}, {**ZERO, "output": "NaN"}],
)
def test_a_free_id_with_an_unreadable_price_is_not_free(pricing):
    row = {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free", "type": "chat", "pricing": pricing}

    (model,) = make_adapter("together").parse_rows([row])

    assert (model.free, model.not_free_reason) == (False, "price_unreadable")

"""The one fail-closed price rule every priced listing uses (OpenRouter, Pollinations, Together)."""

import math

import pytest

from providers.parsing import PAID, PRICE_UNREADABLE, price_refusal


@pytest.mark.parametrize(
    "pricing",
    [
        {"prompt": "0", "completion": "0"},
        {"prompt": 0, "completion": 0.0, "request": "0.0"},
        {"prompt": " 0 ", "completion": "0e0"},
        {"prompt": "0", "completion": "0", "overrides": []},
        {"prompt": "0", "completion": "0", "extra": {}},
        {"prompt": "-0", "completion": "0"},
    ],
)
def test_free_only_when_every_published_price_reads_zero(pricing):
    assert price_refusal(pricing, required=("prompt", "completion")) == ""


@pytest.mark.parametrize(
    "pricing",
    [
        None,
        "0",
        0,
        [],
        [{"prompt": "0"}],
        {},
        {"overrides": []},
        {"prompt": "0"},  # a deciding field is missing
        {"completion": "0"},
        {"prompt": "0", "completion": None},
        {"prompt": "0", "completion": ""},
        {"prompt": "0", "completion": "   "},
        {"prompt": "0", "completion": "ask"},
        {"prompt": "0", "completion": "free"},
        {"prompt": "0", "completion": "NaN"},
        {"prompt": "0", "completion": "nan"},
        {"prompt": "0", "completion": "Infinity"},
        {"prompt": "0", "completion": "-Infinity"},
        {"prompt": "0", "completion": math.inf},
        {"prompt": "0", "completion": math.nan},
        {"prompt": "0", "completion": "1e999"},
        {"prompt": "0", "completion": "-1"},
        {"prompt": "0", "completion": -0.000001},
        {"prompt": "0", "completion": True},
        {"prompt": "0", "completion": False},
        {"prompt": "0", "completion": "0", "image": {"per_image": "0"}},
        {"prompt": "0", "completion": "0", "overrides": [{"prompt": "0.000001"}]},
        {"prompt": "0", "completion": ["0"]},
        {"prompt": "0", "completion": "0 USD"},
    ],
)
def test_anything_unreadable_is_refused_as_price_unreadable(pricing):
    assert price_refusal(pricing, required=("prompt", "completion")) == PRICE_UNREADABLE


@pytest.mark.parametrize(
    "pricing",
    [
        {"prompt": "0", "completion": "0.000002"},
        {"prompt": "0", "completion": "0", "image_output": "0.00004"},
        {"prompt": 1, "completion": 2},
    ],
)
def test_a_readable_price_above_zero_is_paid(pricing):
    assert price_refusal(pricing, required=("prompt", "completion")) == PAID


def test_an_unreadable_price_wins_over_a_paid_one_so_a_format_change_is_counted():
    assert price_refusal({"prompt": "0.1", "completion": "ask"}) == PRICE_UNREADABLE


def test_with_no_deciding_fields_an_empty_mapping_is_still_unreadable():
    assert price_refusal({}) == PRICE_UNREADABLE
    assert price_refusal({"anything": "0"}) == ""


def test_label_keys_hold_text_but_only_text():
    labels = frozenset({"currency"})

    assert price_refusal({"tokens": 0, "currency": "pollen"}, labels=labels) == ""
    assert price_refusal({"tokens": 0, "currency": "pollen"}) == PRICE_UNREADABLE
    assert price_refusal({"currency": "pollen"}, labels=labels) == PRICE_UNREADABLE
    assert price_refusal({"tokens": 0, "currency": {"x": 1}}, labels=labels) == PRICE_UNREADABLE

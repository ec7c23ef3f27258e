"""Cerebras: free tier ended (2026-08-17); off unless re-enabled, then the old rule applies."""

from django.test import override_settings

from providers.registry import PROVIDERS

from .conftest import assert_key_in_header_only, fixture, free_ids, make_adapter

BASE = "https://api.cerebras.ai/v1"


def test_off_by_default_with_a_note():
    spec = PROVIDERS["cerebras"]

    assert (spec.free_tier, spec.enabled) == (False, False)
    assert "2026-08-17" in spec.free_tier_note


@override_settings(OPENPROVIDER_REENABLED_PROVIDERS=["cerebras"])
def test_operator_can_re_enable_it():
    assert PROVIDERS["cerebras"].enabled


def test_old_rule_lists_every_model_as_free_on_the_real_listing(http_mock):
    http_mock.get(f"{BASE}/models", json=fixture("cerebras/models_list.json"))

    models = make_adapter("cerebras").list_models()

    assert free_ids(models) == {"gemma-4-31b", "gpt-oss-120b", "zai-glm-4.7"}
    assert {m.category for m in models} == {"text"}
    assert_key_in_header_only(http_mock.calls[0])


def test_chat_round_trip(http_mock):
    http_mock.post(f"{BASE}/chat/completions", json=fixture("cerebras/chat_completion.json"))

    answer = make_adapter("cerebras").chat({"model": "llama-3.3-70b", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "2 + 2 = 4."
    assert answer["time_info"]  # provider extras pass through untouched

"""GitHub Models: retired 2026-07-30; inference answers 410 Gone -> "unavailable"."""

import pytest

from providers.errors import ProviderError
from providers.registry import PROVIDERS

from .conftest import make_adapter

BASE = "https://models.github.ai/inference"


def test_retired_and_off():
    spec = PROVIDERS["github"]

    assert (spec.free_tier, spec.enabled) == (False, False)
    assert "410" in spec.free_tier_note


def test_gone_maps_to_unavailable(http_mock):
    body = {
        "error": {
            "code": "github_models_retirement_brownout",
            "message": "GitHub Models is retired",
        }
    }
    http_mock.post(f"{BASE}/chat/completions", status=410, json=body)

    with pytest.raises(ProviderError) as caught:
        make_adapter("github").chat({"model": "openai/gpt-4.1", "messages": []})

    assert (caught.value.kind, caught.value.status) == ("unavailable", 410)

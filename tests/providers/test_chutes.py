"""Chutes: the Early Access free plan was retired (2026-03-15); nothing counts as free.

No listing fixture: the row follows the OpenAI list shape of llm.chutes.ai/v1/models.
"""

from providers.registry import PROVIDERS

from .conftest import assert_key_in_header_only, make_adapter

BASE = "https://llm.chutes.ai/v1"


def test_off_and_no_model_is_free(http_mock):
    http_mock.get(
        f"{BASE}/models", json={"data": [{"id": "deepseek-ai/DeepSeek-V3", "object": "model"}]}
    )

    (model,) = make_adapter("chutes").list_models()

    assert not PROVIDERS["chutes"].enabled
    assert model.free is False
    assert_key_in_header_only(http_mock.calls[0])

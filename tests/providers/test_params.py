"""The parameter table: what each provider's adapter sends for OpenAI's chat parameters."""

import re
from pathlib import Path

import pytest
import responses

from providers.errors import ProviderError
from providers.params import (
    DROP,
    ONE_CHOICE,
    PARAMETERS,
    PASS,
    REFUSE,
    TABLE,
    Rename,
    map_params,
    markdown_table,
    refused_param,
)
from providers.registry import PROVIDERS, adapter_for

README = Path(__file__).resolve().parents[2] / "README.md"
BASE = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
EVERY_PARAM = {
    "max_completion_tokens": 10,
    "stop": ["\n"],
    "seed": 7,
    "response_format": {"type": "json_object"},
    "tools": [{"type": "function", "function": {"name": "f"}}],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "stream_options": {"include_usage": True},
    "user": "end-user-1",
    "n": 1,
    "temperature": 0.5,
}


class Credential:
    def __init__(self, provider):
        self.provider, self.api_key, self.account_id = provider, "k", "acc"
        self.base_url = "https://x.test/v1" if PROVIDERS[provider].needs_base_url else ""


# (provider, what the adapter sends for EVERY_PARAM beyond model/messages)
EXPECTED = {
    "custom": {
        **{k: v for k, v in EVERY_PARAM.items() if k != "max_completion_tokens"},
        "max_tokens": 10,
    },
    "groq": {k: v for k, v in EVERY_PARAM.items() if k != "n"},
    "gemini": {
        **{k: v for k, v in EVERY_PARAM.items() if k not in ("max_completion_tokens", "user")},
        "max_tokens": 10,
    },
    "mistral": {
        "max_tokens": 10,
        "stop": ["\n"],
        "random_seed": 7,
        "response_format": {"type": "json_object"},
        "tools": EVERY_PARAM["tools"],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "n": 1,
        "temperature": 0.5,
    },
    "cohere": {
        "max_tokens": 10,
        "stop": ["\n"],
        "seed": 7,
        "response_format": {"type": "json_object"},
        "tools": EVERY_PARAM["tools"],
        "tool_choice": "auto",
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
    },
}


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_each_provider_gets_the_parameters_under_the_names_it_honours(provider):
    adapter = adapter_for(Credential(provider))

    assert adapter.to_provider({**BASE, **EVERY_PARAM}) == {**BASE, **EXPECTED[provider]}


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_every_provider_gets_exactly_one_output_token_limit(provider):
    sent = map_params(provider, {**BASE, "max_tokens": 50, "max_completion_tokens": 5})

    limits = {name: sent[name] for name in ("max_tokens", "max_completion_tokens") if name in sent}
    assert list(limits.values()) == [5]


@pytest.mark.parametrize(
    ("provider", "params", "refused"),
    [
        ("groq", {"n": 2}, "n"),
        ("groq", {"logprobs": True}, "logprobs"),
        ("groq", {"top_logprobs": 3}, "top_logprobs"),
        ("mistral", {"logprobs": True}, "logprobs"),
        ("cohere", {"n": 4}, "n"),
        ("openrouter", {"n": 2}, "n"),
        ("ollama", {"n": 2}, "n"),
        ("cloudflare", {"n": 2}, "n"),
        ("groq", {"n": 1, "logprobs": False, "max_tokens": 9}, None),
        ("custom", {"n": 4, "logprobs": True, "top_logprobs": 3}, None),
        ("gemini", {"n": 2, "logprobs": True}, None),
    ],
)
def test_refusals_depend_on_the_value_sent(provider, params, refused):
    assert refused_param(provider, params) == refused


def test_a_refused_parameter_never_leaves_the_adapter(http_mock):
    adapter = adapter_for(Credential("groq"))

    with pytest.raises(ProviderError) as raised:
        adapter.chat({**BASE, "n": 3})

    assert raised.value.kind == "bad_request"
    assert "n" in raised.value.message
    assert len(http_mock.calls) == 0


def test_the_stream_body_is_mapped_too(http_mock):
    adapter = adapter_for(Credential("custom"))
    http_mock.add(
        responses.POST,
        "https://x.test/v1/chat/completions",
        body=b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n",
        content_type="text/event-stream",
    )

    list(adapter.chat_stream({**BASE, "max_completion_tokens": 4}))

    sent = http_mock.calls[0].request.body
    assert b'"max_tokens": 4' in sent
    assert b'"stream": true' in sent
    assert b"max_completion_tokens" not in sent


def test_the_table_names_registry_providers_and_known_parameters_only():
    assert set(TABLE) <= set(PROVIDERS)
    for rules in TABLE.values():
        assert set(rules) <= set(PARAMETERS)
        for rule in rules.values():
            assert isinstance(rule, Rename) or rule in (PASS, DROP, REFUSE, ONE_CHOICE)


def test_the_readme_table_is_the_one_the_adapters_apply():
    """Regenerate with markdown_table([(s.slug, s.name) for s in PROVIDERS.values()])."""
    readme = README.read_text()
    documented = re.search(
        r"<!-- parameter-table:[^\n]*\n(.*?)\n<!-- /parameter-table -->", readme, re.S
    )

    assert documented is not None
    assert documented.group(1) == markdown_table([(s.slug, s.name) for s in PROVIDERS.values()])

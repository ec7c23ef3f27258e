"""The registry: every row is complete, builds its adapter, and ended tiers stay off."""

import ast
from pathlib import Path

import pytest
from django.test import override_settings

import providers
from providers.adapter import OpenAICompatibleAdapter
from providers.errors import ProviderError
from providers.registry import KIND_CHOICES, PROVIDERS, adapter_for
from providers.wire import CATEGORIES

REQUIRED_FREE = {
    "openrouter", "groq", "gemini", "mistral", "cloudflare", "nvidia", "huggingface", "cohere",
    "pollinations", "ollama", "scaleway",
}  # fmt: skip
ENDED = {"cerebras", "sambanova", "together", "chutes", "github"}


class Credential:
    def __init__(self, provider, api_key="k", base_url="", account_id=""):
        self.provider, self.api_key = provider, api_key
        self.base_url, self.account_id = base_url, account_id


@pytest.mark.parametrize("slug", list(PROVIDERS))
def test_every_row_is_complete_and_builds_an_adapter(slug):
    spec = PROVIDERS[slug]

    adapter = adapter_for(
        Credential(slug, base_url="https://x.test/v1" if spec.needs_base_url else "")
    )

    assert isinstance(adapter, OpenAICompatibleAdapter)
    assert spec.slug == slug
    assert spec.name
    assert spec.free_rule
    assert spec.auth in {"bearer", "none", "optional"}
    assert spec.categories
    assert set(spec.categories) <= set(CATEGORIES)
    assert all(isinstance(v, int) and v > 0 for v in spec.limits.values())
    if slug != "custom":
        assert spec.base_url.startswith(("https://", "http://localhost"))
        assert spec.signup_url.startswith("https://")
    if not spec.free_tier:
        assert spec.free_tier_note


def test_the_required_providers_are_present():
    assert REQUIRED_FREE | ENDED | {"custom"} <= set(PROVIDERS)
    assert {slug for slug in REQUIRED_FREE if PROVIDERS[slug].free_tier} == REQUIRED_FREE
    assert {slug for slug in ENDED if not PROVIDERS[slug].free_tier} == ENDED
    assert [slug for slug, _ in KIND_CHOICES] == list(PROVIDERS)


def test_ended_tiers_are_off_unless_re_enabled():
    assert {slug for slug, spec in PROVIDERS.items() if not spec.enabled} == ENDED
    with override_settings(OPENPROVIDER_REENABLED_PROVIDERS=["sambanova"]):
        assert {slug for slug, spec in PROVIDERS.items() if not spec.enabled} == ENDED - {
            "sambanova"
        }


def test_cloudflare_needs_an_account_id_in_its_url():
    adapter = adapter_for(Credential("cloudflare", account_id="abc123"))

    assert adapter.base_url == "https://api.cloudflare.com/client/v4/accounts/abc123/ai/v1"
    assert PROVIDERS["cloudflare"].needs_account_id


def test_base_url_override_setting_and_credential_base_url():
    with override_settings(OPENPROVIDER_BASE_URL_GROQ="http://proxy.test/groq/v1"):
        assert adapter_for(Credential("groq")).base_url == "http://proxy.test/groq/v1"
    assert (
        adapter_for(Credential("groq", base_url="http://other.test/v1/")).base_url
        == "http://other.test/v1"
    )


def test_keyless_providers():
    assert {slug for slug, spec in PROVIDERS.items() if spec.keyless} == {
        "ollama",
        "pollinations",
        "custom",
    }


def test_unknown_provider_is_unavailable_not_a_crash():
    with pytest.raises(ProviderError) as caught:
        adapter_for(Credential("gone-provider"))

    assert caught.value.kind == "unavailable"


def _provider_imports(module: str) -> set[str]:
    """The providers modules a module's source imports, TYPE_CHECKING blocks included."""
    tree = ast.parse((Path(providers.__file__).parent / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("providers."):
            found.add(node.module.removeprefix("providers."))
    return found


def test_nothing_the_registry_imports_imports_the_registry_back():
    seen, pending = set(), _provider_imports("registry")
    while pending:
        module = pending.pop()
        seen.add(module)
        pending |= _provider_imports(module) - seen

    assert "registry" not in seen
    assert {"adapter", "spec", "gemini"} <= seen

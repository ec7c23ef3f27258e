"""Model families over every real listing: what merges, what must not, what gets no family."""

from collections import defaultdict

import pytest

from providers.families import family_of, valid_family
from tests.providers.fixture_listings import LISTINGS, parsed, provider_fixture

# Every family the real listings share between providers, with every route in it. A new merge
# (or a lost one) in these listings fails here, so each one is reviewed.
EXPECTED_CROSS_PROVIDER = {
    # kept since the catalog serves embeddings (/v1/embeddings): the same model on both
    "gemini-embedding-001": {
        ("gemini", "gemini-embedding-001"),
        ("openrouter", "google/gemini-embedding-001"),
    },
    "gemini-2.5-flash": {
        ("gemini", "gemini-2.5-flash"),
        ("openrouter", "google/gemini-2.5-flash"),
        ("openrouter", "google/gemini-2.5-flash:batch"),
    },
    "gemini-2.5-flash-image": {
        ("gemini", "gemini-2.5-flash-image"),
        ("openrouter", "google/gemini-2.5-flash-image"),
    },
    "gemini-3.1-flash-lite": {
        ("gemini", "gemini-3.1-flash-lite"),
        ("openrouter", "google/gemini-3.1-flash-lite"),
        ("openrouter", "google/gemini-3.1-flash-lite:batch"),
    },
    "gemini-3.1-flash-tts-preview": {
        ("gemini", "gemini-3.1-flash-tts-preview"),
        ("openrouter", "google/gemini-3.1-flash-tts-preview"),
    },
    "gemma-4-31b-instruct": {
        ("gemini", "gemma-4-31b-it"),
        ("openrouter", "google/gemma-4-31b-it"),
        ("openrouter", "google/gemma-4-31b-it:free"),
    },
    "glm-4.7": {("cerebras", "zai-glm-4.7"), ("openrouter", "z-ai/glm-4.7")},
    "gpt-oss-120b": {
        ("cerebras", "gpt-oss-120b"),
        ("groq", "openai/gpt-oss-120b"),
        ("openrouter", "openai/gpt-oss-120b"),
    },
    "gpt-oss-20b": {
        ("groq", "openai/gpt-oss-20b"),
        ("openrouter", "openai/gpt-oss-20b"),
        ("openrouter", "openai/gpt-oss-20b:free"),
    },
    "kimi-k2.6": {
        ("cloudflare", "@cf/moonshotai/kimi-k2.6"),
        ("openrouter", "moonshotai/kimi-k2.6"),
    },
    "llama-3.1-8b-instruct": {
        ("groq", "llama-3.1-8b-instant"),
        ("openrouter", "meta-llama/llama-3.1-8b-instruct"),
    },
    "llama-3.3-70b-instruct": {
        ("groq", "llama-3.3-70b-versatile"),
        ("openrouter", "meta-llama/llama-3.3-70b-instruct"),
    },
    "qwen-3-32b": {("groq", "qwen/qwen3-32b"), ("openrouter", "qwen/qwen3-32b")},
}

# Moving aliases and routers: never one fixed model, so never in a family.
EXPECTED_NO_FAMILY = {
    ("mistral", "mistral-medium-latest"),
    ("ollama", "deepseek-r1:latest"),
    ("ollama", "llama3.2:latest"),
    ("openrouter", "openai/gpt-chat-latest"),
    ("openrouter", "openrouter/auto"),
    ("openrouter", "openrouter/auto-beta"),
    ("openrouter", "openrouter/bodybuilder"),
    ("openrouter", "openrouter/free"),
    ("openrouter", "openrouter/fusion"),
    ("openrouter", "openrouter/pareto-code"),
}

# One row per rule of the table, with real ids from the listings and the ids the
# families design names (NVIDIA's and Cloudflare's Llama 3.3).
EXPECTED = [
    ("groq", "llama-3.3-70b-versatile", "llama-3.3-70b-instruct"),
    ("openrouter", "meta-llama/llama-3.3-70b-instruct:free", "llama-3.3-70b-instruct"),
    ("nvidia", "meta/llama-3.3-70b-instruct", "llama-3.3-70b-instruct"),
    ("cloudflare", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "llama-3.3-70b-instruct"),
    ("huggingface", "meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b-instruct"),
    ("huggingface", "meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"),
    ("huggingface", "Qwen/Qwen2.5-72B-Instruct", "qwen-2.5-72b-instruct"),
    ("openrouter", "qwen/qwen-2.5-72b-instruct", "qwen-2.5-72b-instruct"),
    ("ollama", "llama3.2:3b", "llama-3.2-3b"),
    ("ollama", "qwen2.5:7b-instruct-q4_K_M", "qwen-2.5-7b-instruct"),
    ("cerebras", "zai-glm-4.7", "glm-4.7"),
    ("gemini", "models/gemma-4-31b-it", "gemma-4-31b-instruct"),
    ("openrouter", "qwen/qwen-plus-2025-07-28:thinking", "qwen-plus-2025-07-28-thinking"),
    ("openrouter", "sao10k/l3.3-euryale-70b", "sao10k-l3.3-euryale-70b"),
    ("groq", "groq/compound", "groq-compound"),
    ("openrouter", "~anthropic/claude-sonnet-latest", ""),
    ("huggingface", "unsloth/Llama-3.3-70B-Instruct", "unsloth-llama-3.3-70b-instruct"),
]

# Pairs that must stay apart: sizes, versions, base vs instruct, vision vs text, snapshots,
# guard and safeguard models, thinking variants, an unknown vendor's re-upload.
MUST_NOT_MERGE = [
    (("groq", "llama-3.1-8b-instant"), ("openrouter", "meta-llama/llama-3.1-70b-instruct")),
    (("groq", "llama-3.3-70b-versatile"), ("openrouter", "meta-llama/llama-3.1-70b-instruct")),
    (("cerebras", "gemma-4-31b"), ("gemini", "gemma-4-31b-it")),
    (("huggingface", "meta-llama/Llama-3.1-8B"), ("groq", "llama-3.1-8b-instant")),
    (
        ("cloudflare", "@cf/meta/llama-3.2-11b-vision-instruct"),
        ("openrouter", "meta-llama/llama-3.2-11b-instruct"),
    ),
    (("openrouter", "qwen/qwen2.5-vl-72b-instruct"), ("openrouter", "qwen/qwen-2.5-72b-instruct")),
    (("openrouter", "qwen/qwen3-vl-8b-instruct"), ("openrouter", "qwen/qwen3-vl-8b-thinking")),
    (("openrouter", "qwen/qwen3-vl-8b-instruct"), ("openrouter", "qwen/qwen3-8b")),
    (("groq", "moonshotai/kimi-k2-instruct"), ("groq", "moonshotai/kimi-k2-instruct-0905")),
    (("groq", "openai/gpt-oss-safeguard-20b"), ("groq", "openai/gpt-oss-20b")),
    (
        ("groq", "meta-llama/llama-guard-4-12b"),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct"),
    ),
    (("gemini", "gemini-2.5-flash"), ("gemini", "gemini-2.5-flash-image")),
    (("openrouter", "google/gemini-2.5-flash"), ("openrouter", "google/gemini-2.5-flash-lite")),
    (("openrouter", "google/gemma-4-26b-a4b-it"), ("openrouter", "google/gemma-4-31b-it")),
    (("groq", "whisper-large-v3"), ("groq", "whisper-large-v3-turbo")),
    (("openrouter", "deepseek/deepseek-r1"), ("ollama", "deepseek-r1:latest")),
    (("openrouter", "deepseek/deepseek-r1"), ("openrouter", "deepseek/deepseek-r1-0528")),
    (("huggingface", "unsloth/Llama-3.3-70B-Instruct"), ("groq", "llama-3.3-70b-versatile")),
]


def _every_listed_model() -> list[tuple[str, str]]:
    return sorted(
        {(LISTINGS[name][0], model.upstream_id) for name in LISTINGS for model in parsed(name)}
    )


def _families() -> dict[str, set[tuple[str, str]]]:
    families: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for provider, upstream_id in _every_listed_model():
        families[family_of(upstream_id, provider=provider)].add((provider, upstream_id))
    return families


@pytest.mark.parametrize(("provider", "upstream_id", "family"), EXPECTED)
def test_family_table(provider: str, upstream_id: str, family: str) -> None:
    assert family_of(upstream_id, provider=provider) == family


def test_the_real_listings_merge_across_providers_exactly_as_reviewed() -> None:
    cross = {
        family: routes
        for family, routes in _families().items()
        if family and len({provider for provider, _ in routes}) > 1
    }
    assert cross == EXPECTED_CROSS_PROVIDER


def test_within_one_provider_only_routing_tags_merge() -> None:
    """Inside one listing a family holds one model id, plus its `:free` / `:batch` routes."""
    for family, routes in _families().items():
        if not family:
            continue
        for provider in {provider for provider, _ in routes}:
            bases = {uid.split(":")[0] for p, uid in routes if p == provider}
            assert len(bases) == 1, (family, routes)


def test_only_aliases_and_routers_get_no_family() -> None:
    assert _families()[""] == EXPECTED_NO_FAMILY


def test_every_family_id_is_valid_and_never_a_route_id() -> None:
    listed = _every_listed_model()
    assert len(listed) > 450  # every listing was read
    for provider, upstream_id in listed:
        family = family_of(upstream_id, provider=provider)
        assert family == "" or valid_family(family), upstream_id
        assert "/" not in family


@pytest.mark.parametrize(("one", "other"), MUST_NOT_MERGE)
def test_different_models_never_merge(one: tuple[str, str], other: tuple[str, str]) -> None:
    first = family_of(one[1], provider=one[0])
    assert first != family_of(other[1], provider=other[0])


def test_every_hugging_face_provider_id_of_one_model_is_one_family() -> None:
    mapping = provider_fixture("huggingface/model_info_inference_provider_mapping.json")
    ids = [mapping["id"], *(p["providerId"] for p in mapping["inferenceProviderMapping"].values())]
    assert {family_of(i, provider="huggingface") for i in ids} == {"llama-3.1-8b-instruct"}
    assert family_of("llama-3.1-8b-instant", provider="groq") == "llama-3.1-8b-instruct"


def test_provider_words_apply_only_to_their_provider() -> None:
    # "-fast" is Cloudflare's serving decoration; elsewhere it names a different offering.
    assert family_of("anthropic/claude-opus-5-fast", provider="openrouter") != family_of(
        "anthropic/claude-opus-5", provider="openrouter"
    )
    assert family_of("some-model-versatile", provider="openrouter") == "some-model-versatile"

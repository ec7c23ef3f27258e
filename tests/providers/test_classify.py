"""The shared name classifier, the adapters that defer to it, and every real listing."""

import logging
import re
from pathlib import Path

import pytest

from providers.classify import (
    CHAT_MODEL,
    EMBEDDING,
    NOT_CHAT,
    TRANSCRIPTION,
    category_of,
    category_of_modalities,
    family,
)

from .conftest import by_id, fixture, make_adapter
from .fixture_listings import LISTINGS, parsed, report

# A row per family, with real ids (issue 13, PROVIDERS.md and the fixtures).
FAMILY_ROWS = [
    # guard / safety / shield
    ("nvidia/llama-3.1-nemoguard-8b-content-safety", NOT_CHAT),
    ("meta/llama-guard-4-12b", NOT_CHAT),
    ("meta-llama/llama-prompt-guard-2-86m", NOT_CHAT),
    ("openai/gpt-oss-safeguard-20b", NOT_CHAT),
    ("nvidia/nemotron-3.5-content-safety:free", NOT_CHAT),
    ("google/shieldgemma-9b", NOT_CHAT),
    # reward
    ("nvidia/llama-3.1-nemotron-70b-reward", NOT_CHAT),
    # embeddings
    ("nvidia/nv-embedqa-e5-v5", EMBEDDING),
    ("baai/bge-m3", EMBEDDING),
    ("intfloat/e5-mistral-7b-instruct", EMBEDDING),
    ("thenlper/gte-large", EMBEDDING),
    ("gemini-embedding-001", EMBEDDING),
    ("nvidia/nemotron-3-embed-1b:free", EMBEDDING),
    ("nvidia/llama-nemotron-embed-vl-1b-v2:free", EMBEDDING),  # embeds images too: not vision
    ("nvidia/llama-3.2-nemoretriever-300m-embed-v1", EMBEDDING),
    # rerank, clip, parse / ocr / detectors, moderation
    ("nvidia/llama-3.2-nv-rerankqa-1b-v2", NOT_CHAT),
    ("nvidia/llama-nemotron-rerank-vl-1b-v2:free", NOT_CHAT),
    ("baai/bge-reranker-v2-m3", NOT_CHAT),  # a reranker, not an embedding model
    ("nvidia/nvclip", NOT_CHAT),
    ("openai/clip-vit-large-patch14", NOT_CHAT),
    ("someone/eclipse-7b-chat", None),
    ("nvidia/nemoretriever-parse", NOT_CHAT),
    ("mistral-ocr-2512", NOT_CHAT),
    ("nvidia/ocdrnet", NOT_CHAT),
    ("hive/ai-generated-image-detection", NOT_CHAT),
    ("mistral-moderation-latest", NOT_CHAT),
    ("aqa", NOT_CHAT),
    # speech-to-text
    ("whisper-large-v3-turbo", TRANSCRIPTION),
    ("@cf/openai/whisper", TRANSCRIPTION),
    ("gpt-4o-mini-transcribe", TRANSCRIPTION),
    ("nvidia/parakeet-ctc-1.1b-asr", TRANSCRIPTION),
    # text-to-speech
    ("playai-tts", "speech"),
    ("playai-tts-arabic", "speech"),
    ("canopylabs/orpheus-v1-english", "speech"),
    ("gemini-2.5-flash-preview-tts", "speech"),
    ("deepgram/flux-tts:free", "speech"),
    ("@cf/myshell-ai/melotts", "speech"),
    ("@cf/deepgram/aura-1", "speech"),
    # image generation
    ("@cf/black-forest-labs/flux-1-schnell", "image"),
    ("black-forest-labs/flux.1-schnell", "image"),
    ("stabilityai/stable-diffusion-3-medium", "image"),
    ("gemini-2.5-flash-image", "image"),
    ("imagen-4.0-generate-001", "image"),
    # vision
    ("nvidia/neva-22b", "vision"),
    ("nvidia/vila", "vision"),
    ("adept/fuyu-8b", "vision"),
    ("microsoft/kosmos-2", "vision"),
    ("google/deplot", "vision"),
    ("nvidia/cosmos-reason1-7b", "vision"),
    ("meta/llama-3.2-90b-vision-instruct", "vision"),
    ("@cf/meta/llama-3.2-11b-vision-instruct", "vision"),
    ("meta-llama/llama-4-scout-17b-16e-instruct", "vision"),
    ("@cf/meta/llama-4-scout-17b-16e-instruct", "vision"),
    ("nvidia/nemotron-nano-12b-v2-vl", "vision"),
    ("@cf/llava-hf/llava-1.5-7b-hf", "vision"),
    ("pixtral-12b-2409", "vision"),
    # plain chat: nothing in the name
    ("llama-3.3-70b-versatile", None),
    ("qwen/qwen3-32b", None),
    ("groq/compound", None),
    ("moonshotai/kimi-k2-instruct-0905", None),
    ("gemma-3-1b-it", None),
]


@pytest.mark.parametrize(("upstream_id", "expected"), FAMILY_ROWS)
def test_each_family_is_named_by_real_ids(upstream_id, expected):
    assert family(upstream_id) == expected


@pytest.mark.parametrize(
    ("upstream_id", "listed", "category"),
    [
        ("llama-3.3-70b-versatile", None, "text"),  # nothing known: a chat model
        ("nvidia/neva-22b", None, "vision"),
        ("nvidia/nvclip", None, None),  # not chat: not served
        ("whisper-large-v3", None, "transcription"),  # nothing listed: the name decides
        ("whisper-large-v3", "transcription", "transcription"),
        ("whisper-large-v3", CHAT_MODEL, None),  # listed as chat: a contradiction, not served
        ("baai/bge-m3", None, "embedding"),
        ("baai/bge-m3", "embedding", "embedding"),
        ("embed-english-v3.0", CHAT_MODEL, None),
        ("openai/clip-vit-large-patch14", "embedding", None),  # CLIP stays out
        ("voyageai/voyage-4", "embedding", "embedding"),  # the listing names what the id does not
        ("@cf/meta/llama-guard-3-8b", CHAT_MODEL, None),  # a guard listed as chat
        ("nvidia/nemotron-3.5-content-safety:free", "text", None),
        ("@cf/meta/llama-3.2-11b-vision-instruct", CHAT_MODEL, "vision"),
        ("@cf/meta/llama-3.1-8b-instruct", CHAT_MODEL, "text"),
        ("playai-tts", CHAT_MODEL, "text"),  # the listing said chat: metadata first
        ("some/model-vl", "text", "text"),  # stated inputs win over the name
        ("some/clip-drawer", "image", "image"),  # a non-chat name only blocks chat
    ],
)
def test_metadata_first_then_the_name(upstream_id, listed, category):
    assert category_of(upstream_id, listed) == category


def test_modality_lists_decide_when_present_and_the_name_when_absent():
    assert category_of_modalities("nvidia/neva-22b", set(), set()) == "vision"
    assert category_of_modalities("nvidia/neva-22b", {"text"}, {"text"}) == "text"
    assert category_of_modalities("x/y", {"text"}, {"embeddings"}) == "embedding"
    assert category_of_modalities("x/y", {"audio"}, {"transcription"}) == "transcription"
    assert category_of_modalities("x/y", {"text"}, {"rerank"}) is None
    assert category_of_modalities("x/y", {"audio", "text"}, {"text"}) == "text"  # audio-in chat
    assert category_of_modalities("meta/llama-guard-4-12b", {"text"}, {"text"}) is None


# ---- adapters that carry no metadata use the classifier ------------------------------------

NVIDIA_CHAT = {
    "meta/llama-3.3-70b-instruct": "text",
    "meta/llama-3.2-90b-vision-instruct": "vision",
    "nvidia/neva-22b": "vision",
    "nvidia/vila": "vision",
    "adept/fuyu-8b": "vision",
    "microsoft/kosmos-2": "vision",
    "google/deplot": "vision",
    "nvidia/cosmos-reason1-7b": "vision",
}
NVIDIA_NOT_CHAT = [
    "nvidia/llama-3.1-nemoguard-8b-content-safety",
    "nvidia/llama-3.1-nemoguard-8b-topic-control",
    "nvidia/llama-3.1-nemotron-70b-reward",
    "nvidia/nv-embedqa-e5-v5",
    "baai/bge-m3",
    "nvidia/nvclip",
    "nvidia/nemoretriever-parse",
    "nvidia/llama-3.2-nv-rerankqa-1b-v2",
    "meta/llama-guard-4-12b",
    "nvidia/ocdrnet",
    "nvidia/parakeet-ctc-1.1b-asr",
]


# Catalogued where the provider serves the route (Scaleway, custom servers), not on NVIDIA.
EMBEDDING_AND_TRANSCRIPTION = {
    "nvidia/nv-embedqa-e5-v5": "embedding",
    "baai/bge-m3": "embedding",
    "nvidia/parakeet-ctc-1.1b-asr": "transcription",
}


@pytest.mark.parametrize("slug", ["nvidia", "scaleway", "custom"])
def test_id_only_listings_keep_non_chat_models_out_and_find_vision(slug):
    # given an id-only OpenAI-style listing (the NVIDIA shape quoted in PROVIDERS.md §2.7)
    rows = [{"id": i, "object": "model", "owned_by": "x"} for i in [*NVIDIA_CHAT, *NVIDIA_NOT_CHAT]]
    kwargs = {"base_url": "http://127.0.0.1:9/v1"} if slug == "custom" else {}

    models = by_id(make_adapter(slug, **kwargs).parse_rows(rows))

    expected = NVIDIA_CHAT if slug == "nvidia" else {**NVIDIA_CHAT, **EMBEDDING_AND_TRANSCRIPTION}
    assert {i: m.category for i, m in models.items()} == expected


def test_groq_playai_tts_is_speech_not_chat():
    row = {**fixture("groq/models_list.json")["data"][1], "id": "playai-tts"}

    (model,) = make_adapter("groq").parse_rows([row])

    assert model.category == "speech"
    assert not model.capabilities["streaming"]


def _cloudflare_row(name, task, **properties):
    row = fixture("cloudflare/model_catalog_flux-1-schnell.json")
    props = [{"property_id": k, "value": v} for k, v in properties.items()]
    return {**row, "name": name, "task": {**row["task"], "name": task}, "properties": props}


@pytest.mark.parametrize(
    ("name", "task", "category"),
    [
        ("@cf/meta/llama-3.1-8b-instruct", "Text Generation", "text"),
        ("@cf/meta/llama-3.2-11b-vision-instruct", "Text Generation", "vision"),
        ("@cf/meta/llama-4-scout-17b-16e-instruct", "Text Generation", "vision"),
        ("@cf/llava-hf/llava-1.5-7b-hf", "Image-to-Text", "vision"),
        ("@cf/unum/uform-gen2-qwen-500m", "Image-to-Text", "vision"),
        ("@cf/black-forest-labs/flux-1-schnell", "Text-to-Image", "image"),
        ("@cf/deepgram/aura-1", "Text-to-Speech", "speech"),
        ("@cf/meta/llama-guard-3-8b", "Text Generation", None),
        ("@cf/openai/whisper-large-v3-turbo", "Automatic Speech Recognition", "transcription"),
        ("@cf/baai/bge-m3", "Text Embeddings", "embedding"),
        ("@cf/baai/bge-reranker-base", "Text Classification", None),
    ],
)
def test_cloudflare_category_follows_the_task_name(name, task, category):
    models = make_adapter("cloudflare", account_id="acct").parse_rows([_cloudflare_row(name, task)])

    assert [m.category for m in models] == ([category] if category else [])


def test_cloudflare_vision_property_makes_a_text_generation_model_vision():
    row = _cloudflare_row("@cf/google/gemma-3-12b-it", "Text Generation", vision="true")

    (model,) = make_adapter("cloudflare", account_id="acct").parse_rows([row])

    assert model.category == "vision"


def test_a_cohere_embed_model_listed_without_endpoints_is_not_chat():
    rows = [{"name": "embed-english-v3.0"}, {"name": "command-a-vision-07-2025"}]

    models = by_id(make_adapter("cohere").parse_rows(rows))

    assert {i: m.category for i, m in models.items()} == {"command-a-vision-07-2025": "vision"}


def test_ollama_without_capabilities_lets_the_name_decide():
    rows = [{"name": "nomic-embed-text:latest", "show": {}}, {"name": "llava:7b", "show": {}}]

    models = by_id(make_adapter("ollama").parse_rows(rows))

    assert {i: m.category for i, m in models.items()} == {
        "llava:7b": "vision",
        "nomic-embed-text:latest": "embedding",
    }


# ---- every real listing in the fixtures -----------------------------------------------------

# Independent of the classifier's table: words that never name a chat model.
NEVER_CHAT = re.compile(r"guard|safety|embed|rerank|reward|whisper|moderation|ocr|clip|aqa")
KNOWN_VISION = {
    "groq/models_list.json": [
        "meta-llama/llama-4-scout-17b-16e-instruct",
        "meta-llama/llama-4-maverick-17b-128e-instruct",
    ],
    "openrouter/models_list_free_subset.json": [
        "google/gemma-4-31b-it:free",
        "nvidia/nemotron-nano-12b-v2-vl:free",
        "openrouter/free",
    ],
    "gemini/models_list_native_trimmed.json": ["gemini-2.5-flash", "gemma-4-31b-it"],
    "mistral/models_list.json": ["mistral-medium-latest"],
}


@pytest.mark.parametrize("name", LISTINGS)
def test_every_real_listing_parses_without_dropping_a_row_as_junk(name, caplog):
    with caplog.at_level(logging.WARNING, logger="providers.adapter"):
        models = parsed(name)

    assert models
    assert not caplog.records


@pytest.mark.parametrize("name", LISTINGS)
def test_no_guard_embedding_reward_or_speech_to_text_model_is_offered_for_chat(name):
    chat = [m.upstream_id for m in parsed(name) if m.category in ("text", "vision")]

    assert chat
    assert not [i for i in chat if NEVER_CHAT.search(i.lower())]


@pytest.mark.parametrize("name", KNOWN_VISION)
def test_known_vision_models_are_vision(name):
    models = by_id(parsed(name))

    assert {i: models[i].category for i in KNOWN_VISION[name]} == dict.fromkeys(
        KNOWN_VISION[name], "vision"
    )


def test_the_bench_readme_holds_the_current_report():
    readme = (Path(__file__).resolve().parents[2] / "bench" / "README.md").read_text()

    assert report() in readme, "re-run: .venv/bin/python -m tests.providers.fixture_listings"

"""The provider registry: one data row per provider. To add a provider, add a row.

Facts (URLs, free rules, limits) come from each provider's own documentation; a row's
`free_evidence` says where its free tier is stated. Free tiers change monthly: a row whose free
tier ended keeps `free_tier=False` and a note, and stays off unless an operator lists its slug in
OPENPROVIDER_REENABLED_PROVIDERS. Base URLs can be moved with OPENPROVIDER_BASE_URL_<SLUG>
(proxies, tests).

`limits` holds the documented free-tier numbers, for display and planning only (enforcement is
the provider's): rpm/rph/rpd = requests per minute/hour/day, tpm/tph/tpd = tokens per
minute/hour/day, plus provider-specific units named in full.
"""

from typing import Protocol

from .adapter import OpenAICompatibleAdapter
from .cloudflare import CloudflareAdapter
from .cohere import CohereAdapter
from .errors import ProviderError
from .gemini import GeminiAdapter
from .groq import GroqAdapter
from .huggingface import HuggingFaceAdapter
from .mistral import MistralAdapter
from .ollama import OllamaAdapter
from .openrouter import OpenRouterAdapter
from .pollinations import PollinationsAdapter
from .spec import ProviderAdapter, ProviderSpec
from .together import TogetherAdapter
from .unlisted import UnlistedCapabilitiesAdapter
from .wire import EMBEDDING, IMAGE, SPEECH, TEXT, TRANSCRIPTION, VISION

_ROWS = [
    ProviderSpec(
        "openrouter",
        "OpenRouter",
        "https://openrouter.ai/api/v1",
        OpenRouterAdapter,
        signup_url="https://openrouter.ai/settings/keys",
        stream_usage=True,
        categories=(TEXT, VISION, SPEECH, EMBEDDING),
        free_rule=(
            "Id ends with ':free' (or is openrouter/free) AND every published price reads "
            "exactly 0, prompt and completion included; a missing or unreadable price means "
            "paid. 50 requests/day, 1,000/day once 10 credits were ever bought."
        ),
        limits={"rpm": 20, "rpd": 50},
        limits_per_account=True,
        charges_failed_calls=True,
    ),
    ProviderSpec(
        "groq",
        "Groq",
        "https://api.groq.com/openai/v1",
        GroqAdapter,
        signup_url="https://console.groq.com/keys",
        stream_usage=True,
        categories=(TEXT, VISION, SPEECH, TRANSCRIPTION),
        free_rule="Every active model is on the Free plan (per-model limits). The model id "
        "says what it is: playai-tts and orpheus speak, whisper transcribes; guard models are "
        "not served.",
        limits={"rpm": 30, "rpd": 1000, "tpm": 8000},
        requests_header_window="day",
    ),
    ProviderSpec(
        "gemini",
        "Google AI Studio (Gemini)",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        GeminiAdapter,
        signup_url="https://aistudio.google.com/app/apikey",
        stream_usage=True,
        categories=(TEXT, VISION, SPEECH, EMBEDDING),
        free_rule="Models of the free-tier families (the API shows no prices): Gemini 3.5 "
        "Flash, 3 Flash, 3.1 Flash-Lite, 2.5 Flash, 2.5 Flash-Lite, 3.1 and 2.5 Flash TTS, "
        "Robotics-ER 1.5/1.6, Gemma 3 27B/12B/4B/1B, Gemini Embedding 001, each with its "
        "-latest, -preview, dated "
        "and -001 aliases. Pro and image models are not free. Google no longer publishes "
        "per-model limits.",
        limits={"rpm": 5, "rpd": 20, "tpm": 250000},
        # The free-tier families as of July 2026; GEMINI_EXTRA_FREE_MODELS adds more.
        free_families=(
            "gemini-3.5-flash",
            "gemini-3-flash",
            "gemini-3.1-flash-lite",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-3.1-flash-tts",
            "gemini-2.5-flash-preview-tts",
            "gemini-robotics-er-1.5",
            "gemini-robotics-er-1.6",
            "gemma-3-27b-it",
            "gemma-3-12b-it",
            "gemma-3-4b-it",
            "gemma-3-1b-it",
            "gemini-embedding-001",
        ),
    ),
    ProviderSpec(
        "mistral",
        "Mistral (La Plateforme)",
        "https://api.mistral.ai/v1",
        MistralAdapter,
        signup_url="https://console.mistral.ai/api-keys",
        categories=(TEXT, VISION, EMBEDDING),
        free_rule="Free mode: every non-deprecated chat and embedding model, metered by monthly "
        "API credits.",
        limits={"rpm": 60, "tpm": 500000, "tokens_per_month": 1_000_000_000},
    ),
    ProviderSpec(
        "cloudflare",
        "Cloudflare Workers AI",
        "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
        CloudflareAdapter,
        signup_url="https://dash.cloudflare.com/profile/api-tokens",
        categories=(TEXT, VISION, IMAGE, SPEECH, EMBEDDING, TRANSCRIPTION),
        free_rule="Every model except those marked require_workers_paid, within 10,000 "
        "neurons/day shared by all models (resets 00:00 UTC).",
        limits={"rpm": 300, "neurons_per_day": 10000},
        needs_account_id=True,
    ),
    ProviderSpec(
        "nvidia",
        "NVIDIA NIM",
        "https://integrate.api.nvidia.com/v1",
        UnlistedCapabilitiesAdapter,
        signup_url="https://build.nvidia.com/settings/api-keys",
        stream_usage=True,
        categories=(TEXT, VISION),
        free_rule="Every hosted model, for trial use under the NVIDIA Developer Program "
        "(requests are logged). The listing has ids only: guard, reward, embedding, CLIP, "
        "parse and detector models are not served. The listing is public, so a key check "
        "cannot prove the key.",
        limits={"rpm": 40, "rpd": 10000},
        free_evidence="NVIDIA Developer Program (trial use)",
    ),
    ProviderSpec(
        "huggingface",
        "Hugging Face Inference Providers",
        "https://router.huggingface.co/v1",
        HuggingFaceAdapter,
        signup_url="https://huggingface.co/settings/tokens",
        stream_usage=True,
        categories=(TEXT, VISION, IMAGE),
        free_rule="Credit-metered: every live model, free while the monthly $0.10 credits last.",
        limits={"credit_usd_cents_per_month": 10},
    ),
    ProviderSpec(
        "cohere",
        "Cohere (trial key)",
        "https://api.cohere.ai/compatibility/v1",
        CohereAdapter,
        signup_url="https://dashboard.cohere.com/api-keys",
        categories=(TEXT, VISION),
        free_rule="Every non-deprecated chat model on a trial key (non-commercial use).",
        limits={"rpm": 20, "requests_per_month": 1000},
    ),
    ProviderSpec(
        "pollinations",
        "Pollinations",
        "https://gen.pollinations.ai/v1",
        PollinationsAdapter,
        signup_url="https://enter.pollinations.ai",
        auth="optional",
        categories=(TEXT, VISION, IMAGE, SPEECH),
        free_rule="Models whose every published price is 0 pollen; priced models, and models "
        "without a readable price, draw on the account's pollen balance and are not free.",
    ),
    ProviderSpec(
        "ollama",
        "Ollama (local)",
        "http://localhost:11434/v1",
        OllamaAdapter,
        signup_url="https://ollama.com/download",
        stream_usage=True,
        auth="none",
        categories=(TEXT, VISION, EMBEDDING),
        free_rule="Every local model: it runs on your own machine.",
        serves_responses=True,  # /v1/responses since Ollama 0.13.3
    ),
    ProviderSpec(
        "scaleway",
        "Scaleway Generative APIs",
        "https://api.scaleway.ai/v1",
        UnlistedCapabilitiesAdapter,
        signup_url="https://console.scaleway.com/iam/api-keys",
        stream_usage=True,
        categories=(TEXT, VISION, EMBEDDING, TRANSCRIPTION),
        free_rule="Trial: every chat, embedding and transcription model until the 1,000,000 "
        "free tokens are used.",
        limits={"free_tokens": 1_000_000},
        free_evidence="Scaleway trial (1,000,000 free tokens)",
    ),
    ProviderSpec(
        "cerebras",
        "Cerebras",
        "https://api.cerebras.ai/v1",
        OpenAICompatibleAdapter,
        signup_url="https://cloud.cerebras.ai",
        stream_usage=True,
        free_rule="Was: every model. Counts as free only where an operator re-enables it.",
        free_tier=False,
        free_tier_note="Free tier ended for new accounts on 2026-08-17 "
        "($5 one-time credit behind a verified card).",
        limits={"rpm": 30, "rph": 900, "rpd": 14400, "tpm": 60000, "tph": 1000000, "tpd": 1000000},
        free_evidence="Cerebras free tier (accounts from before 2026-08-17)",
    ),
    ProviderSpec(
        "sambanova",
        "SambaNova",
        "https://api.sambanova.ai/v1",
        OpenAICompatibleAdapter,
        signup_url="https://cloud.sambanova.ai/apis",
        stream_usage=True,
        free_rule="None: calls answer 402 PAYMENT_METHOD_REQUIRED.",
        free_tier=False,
        free_tier_note="Free tier gone since 2026-08-20 (402 PAYMENT_METHOD_REQUIRED).",
    ),
    ProviderSpec(
        "together",
        "Together AI",
        "https://api.together.xyz/v1",
        TogetherAdapter,
        signup_url="https://api.together.ai/settings/api-keys",
        stream_usage=True,
        free_rule="Historic: id ends with -Free (any case) and every published price, input "
        "and output included, reads exactly 0.",
        free_tier=False,
        free_tier_note="Free tier and *-Free models removed in August 2025.",
    ),
    ProviderSpec(
        "chutes",
        "Chutes",
        "https://llm.chutes.ai/v1",
        OpenAICompatibleAdapter,
        signup_url="https://chutes.ai/app/api",
        stream_usage=True,
        free_rule="None since the Early Access free plan was retired.",
        free_tier=False,
        free_tier_note="Early Access free plan retired on 2026-03-15.",
    ),
    ProviderSpec(
        "github",
        "GitHub Models",
        "https://models.github.ai/inference",
        OpenAICompatibleAdapter,
        signup_url="https://github.com/settings/tokens",
        stream_usage=True,
        free_rule="None: the service is retired and answers 410 Gone.",
        free_tier=False,
        free_tier_note="Retired on 2026-07-30; inference answers HTTP 410.",
    ),
    ProviderSpec(
        "custom",
        "Custom OpenAI-compatible",
        "",
        UnlistedCapabilitiesAdapter,
        auth="optional",
        categories=(TEXT, VISION, IMAGE, SPEECH, EMBEDDING, TRANSCRIPTION),
        needs_base_url=True,
        free_rule="Self-hosted: every listed model is free. Its category comes from the "
        "listing's modalities, else from the model id (embedding and speech-to-text models "
        "get their own routes; guard and rerank models are not served). Tools and structured "
        "output are unknown until an operator sets them.",
        free_evidence="self-hosted",
    ),
]

PROVIDERS: dict[str, ProviderSpec] = {spec.slug: spec for spec in _ROWS}

KIND_CHOICES = [(slug, spec.name) for slug, spec in PROVIDERS.items()]


def documented_limits(slug: str) -> dict[str, int]:
    """The provider's documented free-tier limits (a copy); {} for custom and unknown ones."""
    spec = PROVIDERS.get(slug)
    return dict(spec.limits) if spec else {}


class Credential(Protocol):
    """What an adapter is built from (providers.models.ProviderCredential)."""

    provider: str
    api_key: str
    base_url: str
    account_id: str


def adapter_for(credential: Credential) -> ProviderAdapter:
    """The adapter for a ProviderCredential (decrypts its key; SecretUnreadable if it cannot)."""
    spec = PROVIDERS.get(credential.provider)
    if spec is None:
        raise ProviderError("this provider is no longer supported", kind="unavailable")
    return spec.adapter(
        spec,
        api_key=credential.api_key,
        base_url=credential.base_url,
        account_id=credential.account_id,
    )

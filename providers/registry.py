"""The provider registry: one data row per provider. To add a provider, add a row."""

from dataclasses import dataclass, field

from django.conf import settings

from .base import SPEECH, TEXT, VISION, OpenAICompatibleAdapter


@dataclass(frozen=True)
class ProviderSpec:
    slug: str
    name: str
    base_url: str
    adapter: type[OpenAICompatibleAdapter] = OpenAICompatibleAdapter
    signup_url: str = ""
    auth: str = "bearer"  # bearer | none | optional
    categories: tuple[str, ...] = (TEXT,)
    free_rule: str = ""
    free_tier: bool = True  # False: the free tier ended; stays off unless an operator re-enables it
    free_tier_note: str = ""
    limits: dict[str, int] = field(default_factory=dict)
    needs_account_id: bool = False
    needs_base_url: bool = False

    def resolved_base_url(self) -> str:
        """The base URL, overridable per provider with OPENPROVIDER_BASE_URL_<SLUG>."""
        return (
            getattr(settings, f"OPENPROVIDER_BASE_URL_{self.slug.upper()}", None) or self.base_url
        )

    @property
    def enabled(self) -> bool:
        """A provider whose free tier ended stays off unless an operator re-enables it."""
        return self.free_tier or self.slug in settings.OPENPROVIDER_REENABLED_PROVIDERS


PROVIDERS: dict[str, ProviderSpec] = {
    "groq": ProviderSpec(
        "groq",
        "Groq",
        "https://api.groq.com/openai/v1",
        signup_url="https://console.groq.com/keys",
        categories=(TEXT, VISION, SPEECH),
        free_rule="Every model on the Free plan (per-model limits); inactive models dropped.",
        limits={"rpm": 30, "rpd": 1000},
    ),
    "custom": ProviderSpec(
        "custom",
        "Custom OpenAI-compatible",
        "",
        auth="optional",
        needs_base_url=True,
        free_rule="Self-hosted: every listed model is free.",
    ),
}

KIND_CHOICES = [(slug, spec.name) for slug, spec in PROVIDERS.items()]


def get_spec(slug: str) -> ProviderSpec:
    return PROVIDERS[slug]


def adapter_for(credential: "object") -> OpenAICompatibleAdapter:
    """The adapter for a ProviderCredential (decrypts its key)."""
    spec = PROVIDERS[credential.provider]  # type: ignore[attr-defined]
    return spec.adapter(
        spec,
        api_key=credential.api_key,  # type: ignore[attr-defined]
        base_url=credential.base_url,  # type: ignore[attr-defined]
        account_id=credential.account_id,  # type: ignore[attr-defined]
    )

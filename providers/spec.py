"""What a provider is (ProviderSpec, one registry row) and what every adapter offers.

Both the registry and the adapters import this module; it imports neither, so the registry
(which names each row's adapter class) and the adapters (which read their row) form no cycle.
"""

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from .wire import TEXT, AudioUpload, ModelInfo, Payload


class ProviderAdapter(Protocol):
    """The calls the catalog and the gateway make on a provider (providers.adapter has the
    OpenAI-compatible implementation most providers share)."""

    spec: "ProviderSpec"

    def list_models(self) -> list[ModelInfo]: ...

    def chat(self, payload: Payload) -> Payload: ...

    def chat_stream(self, payload: Payload) -> Generator[Payload, None, None]: ...

    def responses(self, payload: Payload) -> Payload: ...

    def responses_stream(self, payload: Payload) -> Generator[Payload, None, None]: ...

    def check(self) -> None: ...

    def speech(self, payload: Payload) -> tuple[bytes, str]: ...

    def generate_image(self, payload: Payload) -> list[Payload]: ...

    def embeddings(self, payload: Payload) -> Payload: ...

    def transcribe(self, payload: Payload, audio: AudioUpload) -> Payload: ...


class AdapterClass(Protocol):
    """An adapter class: built from its row and one credential's key, base URL and account."""

    def __call__(
        self, spec: "ProviderSpec", *, api_key: str = "", base_url: str = "", account_id: str = ""
    ) -> ProviderAdapter: ...


@dataclass(frozen=True)
class ProviderSpec:
    slug: str
    name: str
    base_url: str
    adapter: AdapterClass
    signup_url: str = ""
    auth: str = "bearer"  # bearer | none | optional
    categories: tuple[str, ...] = (TEXT,)
    free_rule: str = ""
    free_tier: bool = True  # False: the free tier ended; stays off unless an operator re-enables it
    free_tier_note: str = ""
    limits: dict[str, int] = field(default_factory=dict)
    # The window of bare `x-ratelimit-*-requests` headers: OpenAI's count a minute, Groq's a day.
    requests_header_window: str = "minute"
    # The limits bind the whole account (every model shares them), not each model.
    limits_per_account: bool = False
    # A failed (429) call still counts against the day quota: never probe a known-spent route.
    charges_failed_calls: bool = False
    needs_account_id: bool = False
    needs_base_url: bool = False
    # The API serves OpenAI's /responses itself: /v1/responses is relayed untranslated.
    serves_responses: bool = False
    # Evidence stored with every model the generic parse_model lists (empty: none are free).
    free_evidence: str = ""
    # The API takes `stream_options.include_usage` (OpenAI's way to ask for the usage chunk at the
    # end of a stream). Mistral answers 422 to it (and sends usage anyway); where support is
    # unknown the flag stays off and the gateway counts the tokens itself.
    stream_usage: bool = False
    # Model families free under the provider's free tier where the listing shows no price
    # (Gemini): each matches its -latest, -preview, -preview-MM-DD, -exp and -001 aliases.
    free_families: tuple[str, ...] = ()

    def resolved_base_url(self) -> str:
        """The base URL, overridable per provider with OPENPROVIDER_BASE_URL_<SLUG>."""
        override = getattr(settings, f"OPENPROVIDER_BASE_URL_{self.slug.upper()}", None)
        return str(override or self.base_url)

    @property
    def enabled(self) -> bool:
        """A provider whose free tier ended stays off unless an operator re-enables it."""
        return self.free_tier or self.slug in settings.OPENPROVIDER_REENABLED_PROVIDERS

    @property
    def keyless(self) -> bool:
        """Whether a credential may have no key (local and self-hosted servers)."""
        return self.auth in ("none", "optional")

"""The shapes that cross the provider boundary: payloads, model categories and a listed model."""

from dataclasses import dataclass, field
from typing import Any

Payload = dict[str, Any]

TEXT, VISION, IMAGE, SPEECH = "text", "vision", "image", "speech"
EMBEDDING, TRANSCRIPTION = "embedding", "transcription"
CATEGORIES = (TEXT, VISION, IMAGE, SPEECH, EMBEDDING, TRANSCRIPTION)


@dataclass
class ModelInfo:
    """One model as a provider lists it, with the free verdict and the evidence for it."""

    upstream_id: str
    name: str = ""
    category: str = TEXT
    free: bool = False
    free_evidence: str = ""
    # Why a listed model is not free, when the listing says: parsing.PAID or
    # parsing.PRICE_UNREADABLE (a price that cannot be read is refused and counted by the sync).
    not_free_reason: str = ""
    context_length: int | None = None
    max_output_tokens: int | None = None
    capabilities: dict[str, bool | None] = field(default_factory=dict)  # None: unknown
    description: str = ""
    voices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AudioUpload:
    """An audio file to transcribe, as the client uploaded it (already size-checked)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

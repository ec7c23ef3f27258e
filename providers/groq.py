"""Groq: every active model is on the Free plan; the id tells what a model is."""

from . import parsing
from .base import SPEECH, TEXT, VISION, ModelInfo, OpenAICompatibleAdapter, Payload
from .listing import listed_model

FREE_EVIDENCE = "Groq Free plan (per-model rate limits)"
ORPHEUS_ENGLISH_VOICES = ["autumn", "diana", "hannah", "austin", "daniel", "troy"]
STRUCTURED_OUTPUT_PREFIXES = ("openai/gpt-oss", "moonshotai/kimi-k2", "meta-llama/llama-4")


def category_of(upstream_id: str, input_modalities: set[str]) -> str | None:
    """whisper (speech-to-text) and *guard* (moderation) are not served; orpheus speaks."""
    lowered = upstream_id.lower()
    if "whisper" in lowered or "guard" in lowered:
        return None
    if "orpheus" in lowered:
        return SPEECH
    if "image" in input_modalities or "llama-4" in lowered or parsing.looks_like_vision(lowered):
        return VISION
    return TEXT


class GroqAdapter(OpenAICompatibleAdapter):
    """Groq: Free plan for every active model; category from the id."""

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        upstream_id = parsing.model_id(raw.get("id"))
        if upstream_id is None or raw.get("active") is False:
            return None
        category = category_of(upstream_id, parsing.lowered(raw.get("input_modalities")))
        if category is None:
            return None
        english_tts = category == SPEECH and "english" in upstream_id
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            context_length=parsing.positive_int(raw.get("context_window")),
            max_output_tokens=parsing.positive_int(raw.get("max_completion_tokens")),
            tools=True,
            structured_output=upstream_id.startswith(STRUCTURED_OUTPUT_PREFIXES),
            voices=list(ORPHEUS_ENGLISH_VOICES) if english_tts else [],
        )

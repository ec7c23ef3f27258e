"""Groq: every active model is on the Free plan; the id tells what a model is."""

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter
from .listing import listed_model
from .wire import SPEECH, ModelInfo, Payload

FREE_EVIDENCE = "Groq Free plan (per-model rate limits)"
ORPHEUS_ENGLISH_VOICES = ["autumn", "diana", "hannah", "austin", "daniel", "troy"]
STRUCTURED_OUTPUT_PREFIXES = ("openai/gpt-oss", "moonshotai/kimi-k2", "meta-llama/llama-4")


class GroqAdapter(OpenAICompatibleAdapter):
    """Groq: Free plan for every active model; category from modality lists if any, else the id
    (whisper is speech-to-text and guards are moderation: neither is served)."""

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        upstream_id = parsing.model_id(raw.get("id"))
        if upstream_id is None or raw.get("active") is False:
            return None
        category = classify.category_of_modalities(
            upstream_id,
            parsing.lowered(raw.get("input_modalities")),
            parsing.lowered(raw.get("output_modalities")),
        )
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

"""Mistral: capability flags pick chat models; magistral streams content as typed parts, its
thinking parts become `reasoning`, as other providers send it."""

from typing import Any

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter
from .listing import listed_model
from .wire import EMBEDDING, VISION, ModelInfo, Payload

FREE_EVIDENCE = "Mistral Free mode (monthly API credits)"
NOT_CHAT = ("ocr", "moderation", "classification")


def plain_content(content: Any) -> Any:
    """Typed content parts -> one string of the text parts (thinking parts are not content)."""
    if not isinstance(content, list):
        return content
    return "".join(_part_text(part) for part in content)


def thinking_text(content: Any) -> str:
    """The text of the thinking parts: the answer's reasoning (billed as completion tokens)."""
    if not isinstance(content, list):
        return ""
    return "".join(
        plain_content(part.get("thinking")) or ""
        for part in content
        if isinstance(part, dict) and part.get("type") == "thinking"
    )


def _part_text(part: Any) -> str:
    is_text = isinstance(part, dict) and part.get("type") == "text"
    return part["text"] if is_text and isinstance(part.get("text"), str) else ""


def _normalize(data: Payload, key: str) -> Payload:
    choices = data.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get(key) if isinstance(choice, dict) else None
        if isinstance(message, dict) and "content" in message:
            if reasoning := thinking_text(message["content"]):
                message["reasoning"] = reasoning
            message["content"] = plain_content(message["content"])
    return data


class MistralAdapter(OpenAICompatibleAdapter):
    """Mistral: capability flags; typed content parts flattened to OpenAI strings."""

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """Chat and embedding models; deprecated, OCR, moderation, FIM-only models are dropped."""
        upstream_id = parsing.model_id(raw.get("id"))
        capabilities = parsing.mapping(raw.get("capabilities"))
        if upstream_id is None or raw.get("deprecation") is not None:
            return None
        if not parsing.flag(capabilities.get("completion_chat")):
            return self._embedding_model(upstream_id, capabilities, raw)
        if any(parsing.flag(capabilities.get(name)) for name in NOT_CHAT):
            return None
        vision = parsing.flag(capabilities.get("vision"))
        category = classify.category_of(upstream_id, VISION if vision else classify.CHAT_MODEL)
        if category is None:
            return None
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            context_length=parsing.positive_int(raw.get("max_context_length")),
            tools=parsing.flag(capabilities.get("function_calling")),
            structured_output=True,
            description=parsing.description(raw.get("description")),
        )

    @staticmethod
    def _embedding_model(
        upstream_id: str, capabilities: dict[str, object], raw: Payload
    ) -> ModelInfo | None:
        """mistral-embed and codestral-embed: no capability flag set, an embedding name."""
        if any(parsing.flag(value) for value in capabilities.values()):
            return None
        if classify.category_of(upstream_id) != EMBEDDING:
            return None
        return listed_model(
            upstream_id,
            EMBEDDING,
            free_evidence=FREE_EVIDENCE,
            context_length=parsing.positive_int(raw.get("max_context_length")),
            description=parsing.description(raw.get("description")),
        )

    def from_provider(self, data: Payload) -> Payload:
        return _normalize(data, "message")

    def from_provider_chunk(self, chunk: Payload) -> Payload:
        return _normalize(chunk, "delta")

"""What a model is, from its id: the one name classifier for listings that say nothing.

Listing metadata decides first (OpenRouter modalities, Cloudflare task names, Gemini methods,
Mistral capabilities, Ollama capabilities); this table fills in where a listing carries only
ids (NVIDIA, Groq, Scaleway, custom servers) and, whatever the metadata, keeps the non-chat
families out of chat: embedding and speech-to-text models are catalogued in their own
categories, guards, reward models, rerankers, CLIP, parsers and detectors not at all. The first
family whose pattern matches the lowered id wins, so the order of FAMILIES matters: a guard model
named "…-vision" is still a guard, a "flux-tts" voice is speech, not an image model. Families
whose image input depends on the host (Gemma: Google serves images, Cerebras does not) are
left to the provider's adapter.
"""

import re

from .parsing import (
    EMBEDDING,
    IMAGE,
    SPEECH,
    TEXT,
    TRANSCRIPTION,
    VISION,
    category_from_modalities,
)

NOT_CHAT = "not_chat"  # guards, reward models, rerankers, CLIP, parsers, detectors: not served
# What a listing says of a model it lists as a chat model without stating what it reads.
CHAT_MODEL = "chat"

_START = r"(?:^|[-_/.:@])"  # a name part starts here
_END = r"(?=$|[-_/.:@\d])"  # …and ends here (digits may follow: e5-v5, tts1)

FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        NOT_CHAT,
        re.compile(
            r"guard|safety|shield|reward|rerank|moderation|classif|detect"
            rf"|{_START}(?:nv)?clip|{_START}(?:aqa|parse|ocdrnet){_END}|ocr{_END}"
        ),
    ),
    (EMBEDDING, re.compile(rf"embed|retriever|{_START}(?:bge|e5|gte){_END}")),
    (TRANSCRIPTION, re.compile(rf"whisper|transcri|parakeet|canary|{_START}(?:asr|stt){_END}")),
    (SPEECH, re.compile(rf"tts{_END}|orpheus|kokoro|{_START}aura{_END}")),
    (
        IMAGE,
        re.compile(
            rf"{_START}(?:flux|sdxl|sd3|imagen|image|dall-e|stable-diffusion|kandinsky){_END}"
        ),
    ),
    (
        VISION,
        re.compile(
            rf"{_START}(?:vl|vlm|vision|multimodal|neva|vila|fuyu|kosmos|deplot|paligemma){_END}"
            r"|llava|pixtral|cosmos-reason|llama-4"
        ),
    ),
)


def family(upstream_id: str) -> str | None:
    """The family an id names (NOT_CHAT, EMBEDDING, TRANSCRIPTION, SPEECH, IMAGE, VISION), or
    None."""
    lowered = upstream_id.lower()
    for name, pattern in FAMILIES:
        if pattern.search(lowered):
            return name
    return None


def category_of(upstream_id: str, listed: str | None = None) -> str | None:
    """The catalog category (text / vision / image / speech / embedding / transcription), or
    None for a model not served.

    `listed` is what the listing's metadata says: a category, CHAT_MODEL (chat, inputs not
    stated) or None (nothing). Metadata wins, except that a non-chat, embedding or
    speech-to-text name is never offered for chat (a listing that calls such a model chat
    contradicts its name: not served); the name fills in whatever the metadata leaves open.
    """
    named = family(upstream_id)
    if named in (EMBEDDING, TRANSCRIPTION) and listed in (None, named):
        return named
    if named in (NOT_CHAT, EMBEDDING, TRANSCRIPTION):
        return listed if listed in (IMAGE, SPEECH) else None
    if listed == CHAT_MODEL:
        return VISION if named == VISION else TEXT
    return listed or named or TEXT


def category_of_modalities(upstream_id: str, inputs: set[str], outputs: set[str]) -> str | None:
    """Modality lists first (a listing without any leaves it to the name), then the name."""
    if not inputs and not outputs:
        return category_of(upstream_id)
    listed = category_from_modalities(inputs, outputs)
    return None if listed is None else category_of(upstream_id, listed)

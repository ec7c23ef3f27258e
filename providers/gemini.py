"""Google AI Studio (Gemini): native listing and TTS, OpenAI-compatible chat.

Chat goes to the OpenAI-compatible base (`…/v1beta/openai`, Bearer key). The native API next
to it (`…/v1beta`) lists models and speaks; it takes the key in `x-goog-api-key`, never in the
URL and never as a Bearer token (which Google would read as an OAuth token). Nothing in the
listing says what is free, so free = a model of the registry row's `free_families` under one of
its aliases (a renamed preview keeps its family), or an operator's GEMINI_EXTRA_FREE_MODELS
pattern (fnmatch).
What a model is comes from `supportedGenerationMethods` (generateContent; embedContent makes an
embedding model, served by the native batchEmbedContents), then the shared name classifier
(tts, image, aqa); every other Gemini model reads images.
"""

import functools
import io
import re
import wave
from fnmatch import fnmatchcase
from typing import Any

import requests
from django.conf import settings

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter, required_model
from .errors import ProviderError
from .listing import listed_model, token_paged_rows
from .transport import json_body
from .wire import EMBEDDING, SPEECH, TEXT, VISION, ModelInfo, Payload

FREE_EVIDENCE = "Gemini API free tier (a free-tier model family)"
# The names Google gives one model over its life: gemini-2.5-flash-latest, -preview,
# -preview-05-20, -preview-09-2025, -exp, -exp-1206, -001. Anything else (-image, -pro, -lite,
# -tts) is another family.
ALIASES = r"(?:-latest|-(?:preview|exp)(?:-\d{2}-\d{2,4}|-\d{4})?|-\d{3})?"
DEFAULT_VOICE = "Kore"
PCM_RATE = 24000  # Gemini TTS: 16-bit little-endian mono PCM at 24 kHz unless the type says
VOICES = [
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe",
    "Autonoe", "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib",
    "Rasalgethi", "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima",
    "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
]  # fmt: skip
TEXT_ONLY = re.compile(r"^gemma-(1|2)\b|^gemma-3-1b")


@functools.lru_cache(maxsize=8)
def family_pattern(families: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for every family and its aliases."""
    names = "|".join(re.escape(family) for family in families)
    return re.compile(rf"(?:{names}){ALIASES}")


def is_free(upstream_id: str, families: tuple[str, ...]) -> bool:
    if families and family_pattern(families).fullmatch(upstream_id):
        return True
    return any(fnmatchcase(upstream_id, p) for p in settings.GEMINI_EXTRA_FREE_MODELS)


def category_of(upstream_id: str, methods: set[str]) -> str | None:
    """The classifier's verdict; every Gemini chat model reads images but the text-only Gemmas."""
    if "generatecontent" not in methods:
        return classify.category_of(upstream_id, EMBEDDING) if "embedcontent" in methods else None
    category = classify.category_of(upstream_id)
    if category == TEXT and not TEXT_ONLY.match(upstream_id):
        return VISION
    return category


def pcm_to_wav(pcm: bytes, rate: int = PCM_RATE) -> bytes:
    """Wrap raw 16-bit mono PCM in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


class GeminiAdapter(OpenAICompatibleAdapter):
    """Gemini: native listing and TTS (x-goog-api-key), OpenAI-compatible chat."""

    @property
    def native_base(self) -> str:
        return self.base_url.removesuffix("/openai")

    def native_headers(self) -> dict[str, str | None]:
        return {"Authorization": None, "x-goog-api-key": self.api_key}

    def list_models(self) -> list[ModelInfo]:
        rows = token_paged_rows(
            lambda params: self._native("GET", "/models", params=params),
            {"pageSize": 1000},
            rows_key="models",
            next_key="nextPageToken",
            next_param="pageToken",
        )
        return self.parse_rows(rows)

    def check(self) -> None:
        self._native("GET", "/models", params={"pageSize": 1})

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """generateContent and embedContent models: aqa, Imagen (predict) and Veo are dropped."""
        name = parsing.text(raw.get("name"), parsing.MAX_ID + 10)
        upstream_id = parsing.model_id(name.removeprefix("models/"))
        if upstream_id is None:
            return None
        category = category_of(upstream_id, parsing.lowered(raw.get("supportedGenerationMethods")))
        if category is None:
            return None
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            free=is_free(upstream_id, self.spec.free_families),
            name=parsing.text(raw.get("displayName")),
            context_length=parsing.positive_int(raw.get("inputTokenLimit")),
            max_output_tokens=parsing.positive_int(raw.get("outputTokenLimit")),
            tools=True,
            structured_output=True,
            description=parsing.description(raw.get("description")),
            voices=list(VOICES) if category == SPEECH else [],
        )

    def speech(self, payload: Payload) -> tuple[bytes, str]:
        """Native generateContent with AUDIO output; the PCM comes back wrapped as WAV."""
        model = required_model(payload)
        voice = payload.get("voice") if isinstance(payload.get("voice"), str) else DEFAULT_VOICE
        body = {
            "contents": [{"parts": [{"text": str(payload.get("input") or "")}]}],
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}},
            },
        }
        data = json_body(self._native("POST", f"/models/{model}:generateContent", json=body))
        mime_type, pcm = _inline_audio(data)
        rate = re.search(r"rate=(\d+)", mime_type)
        return pcm_to_wav(pcm, int(rate.group(1)) if rate else PCM_RATE), "audio/wav"

    def embeddings(self, payload: Payload) -> Payload:
        """Native batchEmbedContents, one request per input text, in OpenAI's list shape."""
        model = required_model(payload)
        texts = payload.get("input")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ProviderError("Gemini embeds text input only", kind="bad_request")
        one: Payload = {"model": f"models/{model}"}
        if parsing.positive_int(payload.get("dimensions")):
            one["outputDimensionality"] = payload["dimensions"]
        requests_ = [{**one, "content": {"parts": [{"text": text}]}} for text in texts]
        data = json_body(
            self._native(
                "POST", f"/models/{model}:batchEmbedContents", json={"requests": requests_}
            )
        )
        rows = data.get("embeddings")
        vectors = [parsing.mapping(row).get("values") for row in parsing.listed(rows)]
        return {"data": [{"index": i, "embedding": v} for i, v in enumerate(vectors)]}

    def _native(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._request(
            method, self.native_base + path, headers=self.native_headers(), **kwargs
        )


def _inline_audio(data: Payload) -> tuple[str, bytes]:
    """The first inlineData part of the first candidate: (mimeType, decoded bytes)."""
    candidates = data.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates else {}
    parts = parsing.mapping(parsing.mapping(first).get("content")).get("parts")
    for part in parts if isinstance(parts, list) else []:
        inline = parsing.mapping(parsing.mapping(part).get("inlineData"))
        audio = parsing.b64(inline.get("data"))
        if audio:
            mime_type = inline.get("mimeType")
            return (mime_type if isinstance(mime_type, str) else ""), audio
    raise ProviderError("upstream returned no audio", kind="invalid_response", retryable=True)

"""Cloudflare Workers AI: account-scoped catalog search, native image, speech and
speech-recognition runs.

Chat and embeddings use the OpenAI-compatible base `…/accounts/{account_id}/ai/v1`
(`/chat/completions`, `/embeddings`); everything native lives one level up
(`…/ai/models/search`, `…/ai/run/{model}`) and answers in the v4 envelope
`{success, result, result_info, errors}`.
"""

import base64

import requests

from . import classify, parsing
from .adapter import required_model
from .errors import ProviderError
from .listing import MAX_PAGES, listed_model, listed_rows
from .native import NativeRootAdapter
from .transport import json_body
from .wire import EMBEDDING, IMAGE, SPEECH, TRANSCRIPTION, VISION, AudioUpload, ModelInfo, Payload

FREE_EVIDENCE = "Workers AI free allocation (10,000 neurons/day)"
PER_PAGE = 100
# Task name -> what the listing says; other tasks (classification, translation, detection…)
# are not served.
TASKS = {
    "text generation": classify.CHAT_MODEL,  # the task does not say whether it reads images
    "image-to-text": VISION,
    "text-to-image": IMAGE,
    "text-to-speech": SPEECH,
    "text embeddings": EMBEDDING,
    "automatic speech recognition": TRANSCRIPTION,
}
# Whisper large-v3-turbo takes base64 audio; the older Whisper models take a list of byte values.
BASE64_AUDIO_MODELS = ("@cf/openai/whisper-large-v3-turbo",)
MELOTTS = "@cf/myshell-ai/melotts"
MELOTTS_LANGUAGES = ["en", "es", "fr", "zh", "jp", "kr"]


def properties(raw: Payload) -> dict[str, object]:
    listed = raw.get("properties")
    return {
        str(item.get("property_id")): item.get("value")
        for item in (listed if isinstance(listed, list) else [])
        if isinstance(item, dict)
    }


class CloudflareAdapter(NativeRootAdapter):
    """Workers AI: account-scoped catalog search and native image/speech runs."""

    def list_models(self) -> list[ModelInfo]:
        rows: list[object] = []
        for page in range(1, MAX_PAGES + 1):
            data = json_body(self._search({"page": page, "per_page": PER_PAGE}))
            result = listed_rows(data, "result")
            rows.extend(result)
            info = parsing.mapping(data.get("result_info"))
            total = parsing.positive_int(info.get("total_count"))
            if not result or total is None or page * PER_PAGE >= total:
                break
        return self.parse_rows(rows)

    def check(self) -> None:
        self._search({"per_page": 1})

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """Task name (and the vision property) -> category, checked by the name classifier
        (a llama-guard is never chat); require_workers_paid models are listed, never free."""
        upstream_id = parsing.model_id(raw.get("name"))
        task = parsing.text(parsing.mapping(raw.get("task")).get("name")).lower()
        if upstream_id is None or task not in TASKS:
            return None
        props = properties(raw)
        listed = TASKS[task]
        if listed == classify.CHAT_MODEL and parsing.flag(props.get("vision")):
            listed = VISION
        category = classify.category_of(upstream_id, listed)
        if category is None:
            return None
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            free=not parsing.flag(props.get("require_workers_paid")),
            context_length=parsing.positive_int(props.get("context_window")),
            tools=parsing.flag(props.get("function_calling")),
            description=parsing.description(raw.get("description")),
            voices=list(MELOTTS_LANGUAGES) if upstream_id == MELOTTS else [],
        )

    def generate_image(self, payload: Payload) -> list[Payload]:
        """POST …/ai/run/{model} {prompt[, steps]} -> {result: {image: base64}} (or raw bytes)."""
        model = required_model(payload)
        body: Payload = {"prompt": str(payload.get("prompt") or "")}
        if parsing.positive_int(payload.get("steps")):
            body["steps"] = parsing.positive_int(payload.get("steps"))
        return [self._image(self._run(model, body)) for _ in range(parsing.image_count(payload))]

    def speech(self, payload: Payload) -> tuple[bytes, str]:
        """MeloTTS takes {prompt, lang}; other voices (Aura) take {text, speaker}."""
        model = parsing.model_id(payload.get("model")) or MELOTTS
        text, voice = str(payload.get("input") or ""), payload.get("voice")
        if model == MELOTTS:
            body: Payload = {"prompt": text, "lang": voice if voice in MELOTTS_LANGUAGES else "en"}
        else:
            body = {"text": text, **({"speaker": voice} if isinstance(voice, str) else {})}
        response = self._run(model, body)
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("audio/"):
            return response.content, content_type.split(";")[0]
        audio = parsing.mapping(json_body(response).get("result")).get("audio")
        return _b64decode(audio, "audio"), "audio/mpeg"

    def transcribe(self, payload: Payload, audio: AudioUpload) -> Payload:
        """POST …/ai/run/{whisper} -> {result: {text, segments | words, transcription_info}}, in
        OpenAI's verbose_json shape (segments from whichever the model returns)."""
        model = required_model(payload)
        body: Payload = {"audio": list(audio.content)}
        if model in BASE64_AUDIO_MODELS:
            body = {"audio": base64.b64encode(audio.content).decode("ascii")}
            if isinstance(payload.get("language"), str):
                body["language"] = payload["language"]
            if isinstance(payload.get("prompt"), str):
                body["initial_prompt"] = payload["prompt"]
        result = parsing.mapping(json_body(self._run(model, body)).get("result"))
        info = parsing.mapping(result.get("transcription_info"))
        return {
            "text": result.get("text"),
            "language": info.get("language"),
            "duration": info.get("duration"),
            "segments": result.get("segments") or _word_segments(result.get("words")),
        }

    def _search(self, params: dict[str, int]) -> requests.Response:
        return self._request("GET", f"{self.root}/models/search", params=params)

    def _run(self, model: str, body: Payload) -> requests.Response:
        return self._request("POST", f"{self.root}/run/{model}", json=body)

    def _image(self, response: requests.Response) -> Payload:
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("image/"):
            encoded = base64.b64encode(response.content).decode("ascii")
            return {"b64_json": encoded, "content_type": content_type.split(";")[0]}
        image = parsing.mapping(json_body(response).get("result")).get("image")
        _b64decode(image, "image")  # refuse junk before handing it on
        return {"b64_json": image}


def _word_segments(words: object) -> list[Payload]:
    """Whisper's per-word timings as one segment per word (the older models give no segments)."""
    return [
        {"start": w.get("start"), "end": w.get("end"), "text": w.get("word")}
        for w in parsing.listed(words)
        if isinstance(w, dict)
    ]


def _b64decode(value: object, what: str) -> bytes:
    decoded = parsing.b64(value)
    if decoded is None:
        raise ProviderError(f"upstream returned no {what}", kind="invalid_response", retryable=True)
    return decoded

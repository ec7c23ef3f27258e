"""The speech workflow behind /v1/audio/speech: raw audio from the workspace's free TTS models.

OpenAI voice names map to each model's default voice; what comes back must be audio (see
gateway.media.audio), else the next candidate is tried and, at the end, 502
upstream_invalid_response.
"""

from typing import Any

from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.errors import ApiError
from gateway.api.media_input import SpeechInput, parse_input
from gateway.media.audio import checked_audio
from gateway.media.routing import (
    Caller,
    Endpoint,
    MediaResult,
    auto_alias,
    logged_call,
    media_candidates,
)
from gateway.routing.candidates import AUTO_IDS, route_adapter
from gateway.routing.context import ChatContext, served_headers
from gateway.routing.fallback import run_with_fallback

OPENAI_SPEECH_MODELS = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})
OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"}
)
SPEECH_ENDPOINT = Endpoint(
    "audio.speech",
    "/v1/audio/speech",
    "a speech model",
    lambda m: m.category == CatalogModel.Category.SPEECH,
    CatalogModel.Category.SPEECH,
)


def speech_create(*, caller: Caller, payload: Any) -> MediaResult:
    """OpenAI audio.speech: raw audio bytes with their Content-Type."""

    def work(ctx: ChatContext) -> tuple[CatalogModel, tuple[bytes, str], None]:
        data = parse_input(SpeechInput, payload)
        model_id = auto_alias(data["model"], OPENAI_SPEECH_MODELS)
        candidates = media_candidates(caller.workspace, model_id, SPEECH_ENDPOINT)
        if model_id not in AUTO_IDS:
            _check_voice(candidates[0] if candidates else None, data.get("voice"))
        release_db_connections()
        model, audio = run_with_fallback(ctx, candidates, lambda m: _speak(m, data))
        return model, audio, None

    model, (audio, content_type), _ = logged_call(caller, SPEECH_ENDPOINT, payload, work)
    return MediaResult(headers=served_headers(model), audio=audio, content_type=content_type)


def _check_voice(model: CatalogModel | None, voice: str | None) -> None:
    """An exact model refuses a voice it does not have, unless it is an OpenAI voice name."""
    if model is None or voice is None or voice.lower() in OPENAI_VOICES:
        return
    voices = [v for v in model.voices if isinstance(v, str)] if model.voices else []
    if voices and voice.lower() not in {v.lower() for v in voices}:
        raise ApiError(
            f"The model '{model.public_id}' has no voice '{voice}'; "
            f"its voices are: {', '.join(voices[:40])}.",
            param="voice",
            code="unsupported_voice",
        )


def voice_for(model: CatalogModel, voice: str | None) -> str | None:
    """The model's own spelling of the voice, else its default voice (first listed)."""
    voices = [v for v in model.voices if isinstance(v, str)] if model.voices else []
    for known in voices:
        if voice is not None and known.lower() == voice.lower():
            return known
    if voices:
        return voices[0]
    return voice


def _speak(model: CatalogModel, data: dict[str, Any]) -> tuple[bytes, str]:
    requested = data.get("response_format", "mp3")
    payload: dict[str, Any] = {
        "model": model.upstream_id,
        "input": data["input"],
        "response_format": requested,
    }
    voice = voice_for(model, data.get("voice"))
    if voice is not None:
        payload["voice"] = voice
    payload |= {name: data[name] for name in ("speed", "instructions") if data.get(name)}
    audio, content_type = route_adapter(model.credential).speech(payload)
    return checked_audio(audio, content_type or "", requested=requested)

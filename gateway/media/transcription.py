"""The transcription workflow behind /v1/audio/transcriptions: text from the workspace's free
speech-to-text models, routed and logged like every media request (gateway.media.routing).

The audio is uploaded once (multipart, kept in memory up to TRANSCRIPTION_MAX_BYTES) and sent
to each candidate in turn. Upstream is asked for `json`, or for `verbose_json` when the client
wants segments (verbose_json, srt, vtt); srt and vtt are rendered here from the segments, so
every provider answers every format. An answer without a text is an invalid response.
"""

import io
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.errors import ApiError
from gateway.api.media_input import TranscriptionInput, parse_input
from gateway.media.audio import invalid
from gateway.media.images import CappedUploadHandler
from gateway.media.routing import (
    Caller,
    Endpoint,
    MediaResult,
    auto_alias,
    logged_call,
    media_candidates,
)
from gateway.routing.candidates import route_adapter
from gateway.routing.context import ChatContext, served_headers
from gateway.routing.fallback import run_with_fallback
from providers import parsing
from providers.wire import AudioUpload

OPENAI_TRANSCRIPTION_MODELS = frozenset(
    {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"}
)
TRANSCRIPTION_ENDPOINT = Endpoint(
    "audio.transcriptions",
    "/v1/audio/transcriptions",
    "a transcription (speech-to-text) model",
    lambda m: m.category == CatalogModel.Category.TRANSCRIPTION,
    CatalogModel.Category.TRANSCRIPTION,
)
SEGMENT_FORMATS = ("verbose_json", "srt", "vtt")
FORWARDED = ("language", "prompt", "temperature")
TEXT_TYPES = {"text": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}


class AudioTooLarge(ApiError):
    """413 audio_too_large: the uploaded audio is over TRANSCRIPTION_MAX_BYTES."""

    def __init__(self) -> None:
        limit = settings.TRANSCRIPTION_MAX_BYTES
        super().__init__(
            f"The audio file is larger than the limit of {limit} bytes.",
            status=413,
            code="audio_too_large",
            param="file",
        )


class AudioUploadHandler(CappedUploadHandler):
    """Keeps the audio upload in memory and stops at TRANSCRIPTION_MAX_BYTES."""

    @staticmethod
    def limit() -> int:
        return int(settings.TRANSCRIPTION_MAX_BYTES)

    @staticmethod
    def too_large() -> ApiError:
        return AudioTooLarge()


def transcription_create(*, caller: Caller, payload: Any) -> MediaResult:
    """OpenAI audio.transcriptions.create in the requested response_format."""
    data: dict[str, Any] = {}

    def work(ctx: ChatContext) -> tuple[CatalogModel, dict[str, Any], None]:
        data.update(parse_input(TranscriptionInput, payload))
        audio = _audio(data["file"])
        model_id = auto_alias(data["model"], OPENAI_TRANSCRIPTION_MODELS)
        candidates = media_candidates(caller.workspace, model_id, TRANSCRIPTION_ENDPOINT)
        release_db_connections()
        model, answer = run_with_fallback(ctx, candidates, lambda m: _transcribe(m, data, audio))
        return model, answer, None

    model, answer, _ = logged_call(caller, TRANSCRIPTION_ENDPOINT, payload, work)
    return _rendered(answer, data.get("response_format", "json"), served_headers(model))


def _audio(upload: UploadedFile) -> AudioUpload:
    if upload.size is None or upload.size > settings.TRANSCRIPTION_MAX_BYTES:
        raise AudioTooLarge()
    content = upload.read()
    if not content:
        raise ApiError("Invalid 'file': the audio file is empty.", param="file")
    return AudioUpload(
        filename=(upload.name or "audio")[:200],
        content=content,
        content_type=upload.content_type or "application/octet-stream",
    )


def _transcribe(model: CatalogModel, data: dict[str, Any], audio: AudioUpload) -> dict[str, Any]:
    wants_segments = data.get("response_format") in SEGMENT_FORMATS
    payload: dict[str, Any] = {
        "model": model.upstream_id,
        "response_format": "verbose_json" if wants_segments else "json",
    }
    payload |= {name: data[name] for name in FORWARDED if data.get(name) not in (None, "")}
    return _normalized(route_adapter(model.credential).transcribe(payload, audio))


def _normalized(answer: dict[str, Any]) -> dict[str, Any]:
    text = answer.get("text")
    if not isinstance(text, str):
        raise invalid("no transcription text")
    rows = enumerate(parsing.listed(answer.get("segments")))
    segments = [segment for i, row in rows if (segment := _segment(row, i)) is not None]
    duration = parsing.number(answer.get("duration"))
    language = answer.get("language")
    return {
        "task": "transcribe",
        "language": language if isinstance(language, str) else "",
        "duration": duration if duration is not None else _end_of(segments),
        "text": text.strip(),
        "segments": segments,
    }


def _segment(row: Any, position: int) -> dict[str, Any] | None:
    """A segment with its timings; the model's own numeric fields (avg_logprob…) are kept when
    finite, anything else it adds is dropped."""
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        return None
    start = parsing.number(row.get("start")) or 0.0
    end = parsing.number(row.get("end"))
    numbers = {
        name: value
        for name, value in row.items()
        if not isinstance(value, bool)
        and parsing.number(value) is not None
        and not isinstance(value, str)
    }
    return {
        **numbers,
        "id": row["id"] if isinstance(row.get("id"), int) else position,
        "start": start,
        "end": end if end is not None else start,
        "text": row["text"],
    }


def _end_of(segments: list[dict[str, Any]]) -> float:
    return max((s["end"] for s in segments), default=0.0)


def _rendered(answer: dict[str, Any], fmt: str, headers: dict[str, str]) -> MediaResult:
    if fmt == "json":
        return MediaResult(headers=headers, body={"text": answer["text"]})
    if fmt == "verbose_json":
        return MediaResult(headers=headers, body=answer)
    text = srt(answer) if fmt == "srt" else vtt(answer) if fmt == "vtt" else answer["text"] + "\n"
    return MediaResult(
        headers=headers,
        text=text,
        content_type=f"{TEXT_TYPES[fmt]}; charset=utf-8",
    )


def _cues(answer: dict[str, Any]) -> list[tuple[float, float, str]]:
    """(start, end, text) per segment; one cue over the whole audio when there are none."""
    cues = [(s["start"], s["end"], s["text"].strip()) for s in answer["segments"]]
    return cues or [(0.0, answer["duration"], answer["text"])]


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(answer: dict[str, Any]) -> str:
    out = io.StringIO()
    for number, (start, end, text) in enumerate(_cues(answer), start=1):
        out.write(f"{number}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n\n")
    return out.getvalue()


def vtt(answer: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write("WEBVTT\n\n")
    for start, end, text in _cues(answer):
        out.write(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{text}\n\n")
    return out.getvalue()

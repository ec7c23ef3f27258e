"""Speech output checks: what an upstream answered must be audio, within the byte cap.

No transcoding happens here; the only conversions are the lossless wav <-> pcm pair (OpenAI's
`pcm` is raw 16-bit little-endian mono at 24 kHz). Any other requested format is asked of the
provider, and whatever audio it returns is served with its true Content-Type.
"""

import io
import wave

from django.conf import settings

from providers.errors import ProviderError
from providers.gemini import pcm_to_wav

FORMAT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
TYPE_ALIASES = {
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/l16": "audio/pcm",
}


def invalid(reason: str) -> ProviderError:
    return ProviderError(f"upstream returned {reason}", kind="invalid_response", retryable=True)


def sniff_audio(content: bytes) -> str | None:
    """The audio type announced by a container's magic bytes, if any."""
    if content[:4] == b"RIFF" and content[8:12] == b"WAVE":
        return "audio/wav"
    if content.startswith(b"OggS"):
        return "audio/ogg"
    if content.startswith(b"fLaC"):
        return "audio/flac"
    frame_sync = len(content) > 1 and content[0] == 0xFF
    if frame_sync and content[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS
    if content.startswith(b"ID3") or (frame_sync and content[1] >= 0xE0):
        return "audio/mpeg"
    return None


def checked_audio(content: bytes, content_type: str, *, requested: str) -> tuple[bytes, str]:
    """The audio and its Content-Type; ProviderError(invalid_response) for anything else."""
    if len(content) > settings.SPEECH_MAX_OUTPUT_BYTES:
        raise invalid("more audio than the output cap")
    if not content:
        raise invalid("no audio")
    kind = content_type.split(";", 1)[0].strip().lower()
    kind = TYPE_ALIASES.get(kind, kind)
    sniffed = sniff_audio(content)
    if not kind.startswith("audio/"):
        if sniffed is None:
            raise invalid("something other than audio")
        kind = sniffed
    elif kind != "audio/pcm" and sniffed is None and content[:1] in (b"{", b"<", b"["):
        raise invalid("a document labelled as audio")
    return _converted(content, kind, requested)


def _converted(content: bytes, kind: str, requested: str) -> tuple[bytes, str]:
    if requested == "pcm" and kind == "audio/wav":
        frames = _wav_frames(content)
        return (frames, "audio/pcm") if frames is not None else (content, kind)
    if requested == "wav" and kind == "audio/pcm":
        return pcm_to_wav(content), "audio/wav"
    return content, kind


def _wav_frames(content: bytes) -> bytes | None:
    """The raw frames of a 16-bit mono WAV, or None if it is another layout."""
    try:
        with wave.open(io.BytesIO(content)) as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                return None
            return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        raise invalid("a malformed WAV file") from None

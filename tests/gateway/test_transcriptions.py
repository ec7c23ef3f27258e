"""POST /v1/audio/transcriptions: the openai SDK uploads a WAV made here; upstream replayed.

Upstream answers follow the documented shapes: Groq's OpenAI-compatible json and verbose_json
(the segment fields of Groq's own example, plus its `x_groq` id), and Cloudflare's /ai/run
Whisper results (`text`, `segments`, `transcription_info` for large-v3-turbo; `text`, `words`
for the original whisper) inside the v4 envelope.
"""

import base64
import io
import json
import wave
from collections.abc import Iterator

import openai
import pytest
import responses

from gateway.models import RequestLog
from tests.gateway.media_support import CF_RUN, credential, media_model

pytestmark = pytest.mark.django_db(transaction=True)

GROQ_TRANSCRIPTIONS = "https://api.groq.com/openai/v1/audio/transcriptions"
TURBO = "@cf/openai/whisper-large-v3-turbo"
SEGMENTS = [
    {
        "id": 0,
        "seek": 0,
        "start": 0.0,
        "end": 1.52,
        "text": " Hello there.",
        "tokens": [50365, 2425, 456, 13, 50441],
        "temperature": 0,
        "avg_logprob": -0.097569615,
        "compression_ratio": 0.6637554,
        "no_speech_prob": 0.012814695,
    },
    {
        "id": 1,
        "seek": 0,
        "start": 1.52,
        "end": 3.04,
        "text": " General Kenobi.",
        "tokens": [50441, 6996, 14294, 13, 50517],
        "temperature": 0,
        "avg_logprob": -0.21,
        "compression_ratio": 0.71,
        "no_speech_prob": 0.02,
    },
]
GROQ_JSON = {"text": " Hello there. General Kenobi.", "x_groq": {"id": "req_01jqm3x4d5f0"}}
GROQ_VERBOSE = {
    "task": "transcribe",
    "language": "English",
    "duration": 3.04,
    "text": " Hello there. General Kenobi.",
    "segments": SEGMENTS,
    "x_groq": {"id": "req_01jqm3x4d5f0"},
}


def spoken_wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A small mono 16-bit WAV (a quiet square wave), as a client would upload."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        period = [b"\x00\x08"] * 20 + [b"\x00\xf8"] * 20
        out.writeframes(b"".join(period * int(rate * seconds / 40)))
    return buffer.getvalue()


WAV = spoken_wav()


@pytest.fixture
def client(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as sdk:
        yield sdk


@pytest.fixture
def whisper(groq):
    return media_model(groq, "whisper-large-v3-turbo", "transcription")


@pytest.fixture
def cf_whisper(workspace):
    return media_model(credential(workspace, "cloudflare"), TURBO, "transcription")


def form_fields(body: bytes) -> dict[str, bytes]:
    """name -> value of a multipart body (enough for the fields the gateway sends)."""
    fields = {}
    for part in body.split(b"--")[1:]:
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' in head:
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            fields[name] = value.removesuffix(b"\r\n")
    return fields


def test_the_sdk_uploads_a_wav_and_gets_the_text(client, whisper, http_mock):
    http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json=GROQ_JSON)

    raw = client.audio.transcriptions.with_raw_response.create(
        model=whisper.public_id,
        file=("hello.wav", WAV, "audio/wav"),
        language="en",
        prompt="Star Wars quotes",
        temperature=0.2,
    )
    transcript = raw.parse()

    assert transcript.text == "Hello there. General Kenobi."
    assert raw.headers["x-openprovider-model"] == whisper.public_id
    sent = form_fields(http_mock.calls[0].request.body)
    assert sent["file"] == WAV
    assert sent["model"] == b"whisper-large-v3-turbo"
    assert sent["response_format"] == b"json"
    assert (sent["language"], sent["prompt"], sent["temperature"]) == (
        b"en",
        b"Star Wars quotes",
        b"0.2",
    )
    assert b'filename="hello.wav"' in http_mock.calls[0].request.body
    assert http_mock.calls[0].request.headers["Authorization"].startswith("Bearer gsk_")
    log = RequestLog.objects.get(pk=raw.headers["x-request-id"])
    assert (log.endpoint, log.status) == ("audio.transcriptions", "success")


def test_verbose_json_keeps_the_segments(client, whisper, http_mock):
    http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json=GROQ_VERBOSE)

    transcript = client.audio.transcriptions.create(
        model=whisper.public_id, file=("hello.wav", WAV), response_format="verbose_json"
    )

    assert transcript.duration == pytest.approx(3.04)
    assert transcript.language == "English"
    assert [s.text for s in transcript.segments] == [" Hello there.", " General Kenobi."]
    assert transcript.segments[1].start == pytest.approx(1.52)
    assert form_fields(http_mock.calls[0].request.body)["response_format"] == b"verbose_json"


def test_text_srt_and_vtt_are_plain_text_built_from_the_segments(client, whisper, http_mock):
    for _ in range(3):
        http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json=GROQ_VERBOSE)
    http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json=GROQ_JSON)

    def create(fmt):
        return client.audio.transcriptions.create(
            model=whisper.public_id, file=("hello.wav", WAV), response_format=fmt
        )

    srt, vtt, text = create("srt"), create("vtt"), create("text")

    assert srt == (
        "1\n00:00:00,000 --> 00:00:01,520\nHello there.\n\n"
        "2\n00:00:01,520 --> 00:00:03,040\nGeneral Kenobi.\n\n"
    )
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.520\nHello there.\n")
    assert text.strip() == "Hello there. General Kenobi."


def test_cloudflare_turbo_gets_base64_audio_through_ai_run(api_client, cf_whisper, http_mock):
    result = {
        "transcription_info": {"language": "en", "duration": 3.04},
        "text": "Hello there. General Kenobi.",
        "word_count": 4,
        "segments": [{"start": 0.0, "end": 3.04, "text": "Hello there. General Kenobi."}],
        "vtt": "WEBVTT\n\n00:00.000 --> 00:03.040\nHello there. General Kenobi.",
    }
    http_mock.add(responses.POST, CF_RUN + TURBO, json={"result": result, "success": True})

    response = api_client.post(
        "/v1/audio/transcriptions",
        {
            "model": cf_whisper.public_id,
            "file": _upload(),
            "response_format": "verbose_json",
            "language": "en",
        },
        format="multipart",
    )

    assert response.status_code == 200, response.content
    assert response.json()["duration"] == 3.04
    assert response.json()["segments"][0]["end"] == 3.04
    sent = json.loads(http_mock.calls[0].request.body)
    assert base64.b64decode(sent["audio"]) == WAV
    assert sent["language"] == "en"


def test_the_original_cloudflare_whisper_gets_byte_values_and_word_timings(
    api_client, workspace, http_mock
):
    model = media_model(credential(workspace, "cloudflare"), "@cf/openai/whisper", "transcription")
    words = [
        {"word": "Hello", "start": 0.0, "end": 0.6},
        {"word": "there.", "start": 0.6, "end": 1.5},
    ]
    body = {"result": {"text": "Hello there.", "word_count": 2, "words": words}, "success": True}
    http_mock.add(responses.POST, CF_RUN + "@cf/openai/whisper", json=body)

    response = api_client.post(
        "/v1/audio/transcriptions",
        {"model": model.public_id, "file": _upload(), "response_format": "srt"},
        format="multipart",
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-subrip")
    assert "00:00:00,600 --> 00:00:01,500\nthere." in response.content.decode()
    assert json.loads(http_mock.calls[0].request.body) == {"audio": list(WAV)}


def test_auto_free_falls_back_to_the_next_transcription_model(
    api_client, whisper, cf_whisper, groq_model, http_mock
):
    http_mock.add(responses.POST, CF_RUN + TURBO, status=503)
    http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json=GROQ_JSON)

    response = api_client.post(
        "/v1/audio/transcriptions",
        {"model": "whisper-1", "file": _upload()},  # OpenAI's name: any free model
        format="multipart",
    )

    assert response.status_code == 200
    assert response.json() == {"text": "Hello there. General Kenobi."}
    attempts = RequestLog.objects.get(pk=response["x-request-id"]).attempts
    assert [(a["model"], a["status"]) for a in attempts] == [
        (cf_whisper.public_id, "upstream"),
        (whisper.public_id, "ok"),
    ]


def test_a_transcription_model_is_never_a_chat_model_and_back(
    api_client, whisper, groq_model, http_mock
):
    on_chat = api_client.post(
        "/v1/chat/completions",
        {"model": whisper.public_id, "messages": [{"role": "user", "content": "hi"}]},
        format="json",
    )
    chat_here = api_client.post(
        "/v1/audio/transcriptions",
        {"model": groq_model.public_id, "file": _upload()},
        format="multipart",
    )

    assert on_chat.json()["error"]["code"] == "model_category_mismatch"
    assert chat_here.json()["error"]["code"] == "model_category_mismatch"
    assert not http_mock.calls


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "mp3"}, "response_format"),
        ({"temperature": "2"}, "temperature"),
        ({"language": "english please"}, "language"),
        ({"stream": "true"}, "stream"),
    ],
)
def test_bad_fields_are_a_400_naming_the_param(api_client, whisper, http_mock, fields, param):
    response = api_client.post(
        "/v1/audio/transcriptions",
        {"model": whisper.public_id, "file": _upload(), **fields},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not http_mock.calls


def test_a_missing_or_empty_file_is_a_400(api_client, whisper, http_mock):
    missing = api_client.post(
        "/v1/audio/transcriptions", {"model": whisper.public_id}, format="multipart"
    )
    empty = api_client.post(
        "/v1/audio/transcriptions",
        {"model": whisper.public_id, "file": _upload(b"")},
        format="multipart",
    )

    assert missing.status_code == empty.status_code == 400
    assert missing.json()["error"]["param"] == empty.json()["error"]["param"] == "file"
    assert not http_mock.calls


def test_audio_over_the_cap_is_a_413_before_any_upstream_call(
    api_client, whisper, http_mock, settings
):
    settings.TRANSCRIPTION_MAX_BYTES = len(WAV) - 1

    response = api_client.post(
        "/v1/audio/transcriptions",
        {"model": whisper.public_id, "file": _upload()},
        format="multipart",
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] in ("audio_too_large", "request_too_large")
    assert not http_mock.calls


def test_an_answer_without_text_is_an_invalid_response(api_client, whisper, http_mock):
    http_mock.add(responses.POST, GROQ_TRANSCRIPTIONS, json={"x_groq": {"id": "req_1"}})

    response = api_client.post(
        "/v1/audio/transcriptions",
        {"model": whisper.public_id, "file": _upload()},
        format="multipart",
    )

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"


def _upload(content: bytes = WAV):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("hello.wav", content, content_type="audio/wav")

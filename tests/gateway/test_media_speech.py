"""POST /v1/audio/speech: raw audio from each provider, voices mapped, junk refused."""

import io
import re
import wave

import pytest
import responses

from tests.gateway.media_support import (
    CF_RUN,
    GEMINI_NATIVE,
    GROQ_SPEECH,
    MELOTTS,
    MP3,
    OPENROUTER_SPEECH,
    POLLINATIONS,
    WAV,
    b64,
    credential,
    json_sent,
    log_row,
    media_model,
)

URL = "/v1/audio/speech"
ORPHEUS = "canopylabs/orpheus-v1-english"
GEMINI_TTS = "gemini-2.5-flash-preview-tts"
PCM = bytes(range(256)) * 8


@pytest.fixture
def orpheus(workspace):
    voices = ["autumn", "diana", "hannah", "austin", "daniel", "troy"]
    return media_model(credential(workspace, "groq"), ORPHEUS, "speech", voices=voices)


@pytest.fixture
def flux_tts(workspace):
    cred = credential(workspace, "openrouter")
    return media_model(cred, "deepgram/flux-tts:free", "speech", voices=["aura-2-thalia-en"])


@pytest.fixture
def gemini_tts(workspace):
    return media_model(
        credential(workspace, "gemini"), GEMINI_TTS, "speech", voices=["Kore", "Puck"]
    )


@pytest.fixture
def melotts(workspace):
    voices = ["en", "es", "fr"]
    return media_model(credential(workspace, "cloudflare"), MELOTTS, "speech", voices=voices)


def speak(api_client, model_id, **body):
    payload = {"model": model_id, "input": "Hello there.", "voice": "alloy", **body}
    return api_client.post(URL, payload, format="json")


def gemini_audio(pcm: bytes = PCM) -> dict:
    inline = {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": b64(pcm)}
    return {"candidates": [{"content": {"parts": [{"inlineData": inline}], "role": "model"}}]}


def test_groq_wav_is_returned_raw_with_an_openai_voice_mapped_to_the_default(
    api_client, orpheus, http_mock
):
    http_mock.add(responses.POST, GROQ_SPEECH, body=WAV, content_type="audio/wav")

    response = speak(api_client, orpheus.public_id, response_format="wav")

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response.content == WAV
    assert response["x-openprovider-model"] == orpheus.public_id
    assert response["x-ratelimit-limit"]
    assert json_sent(http_mock) == {
        "model": ORPHEUS,
        "input": "Hello there.",
        "response_format": "wav",
        "voice": "autumn",
    }


def test_a_voice_of_the_model_is_kept_in_its_own_spelling(api_client, orpheus, http_mock):
    http_mock.add(responses.POST, GROQ_SPEECH, body=WAV, content_type="audio/wav")

    speak(api_client, orpheus.public_id, voice="Diana", speed=1.25, instructions="warmly")

    sent = json_sent(http_mock)
    assert (sent["voice"], sent["speed"], sent["instructions"]) == ("diana", 1.25, "warmly")


def test_an_unknown_voice_on_an_exact_model_is_400(api_client, orpheus, http_mock):
    response = speak(api_client, orpheus.public_id, voice="bogus")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "voice"
    assert len(http_mock.calls) == 0


def test_openrouter_mp3_is_the_default_format(api_client, flux_tts, http_mock):
    http_mock.add(responses.POST, OPENROUTER_SPEECH, body=MP3, content_type="audio/mpeg")

    response = speak(api_client, flux_tts.public_id)

    assert (response["Content-Type"], response.content) == ("audio/mpeg", MP3)
    assert json_sent(http_mock)["response_format"] == "mp3"
    assert json_sent(http_mock)["voice"] == "aura-2-thalia-en"


def test_gemini_pcm_is_served_as_wav(api_client, gemini_tts, http_mock):
    http_mock.add(
        responses.POST, f"{GEMINI_NATIVE}{GEMINI_TTS}:generateContent", json=gemini_audio()
    )

    response = speak(api_client, gemini_tts.public_id, voice="puck", response_format="wav")

    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (24000, 2, 1)
        assert wav.readframes(wav.getnframes()) == PCM
    voice = json_sent(http_mock)["generationConfig"]["speechConfig"]["voiceConfig"]
    assert voice["prebuiltVoiceConfig"]["voiceName"] == "Puck"


def test_gemini_audio_can_be_asked_for_as_raw_pcm(api_client, gemini_tts, http_mock):
    http_mock.add(
        responses.POST, f"{GEMINI_NATIVE}{GEMINI_TTS}:generateContent", json=gemini_audio()
    )

    response = speak(api_client, gemini_tts.public_id, response_format="pcm")

    assert (response["Content-Type"], response.content) == ("audio/pcm", PCM)


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"result": {"audio": b64(MP3)}, "success": True}},
        {"body": MP3, "content_type": "audio/mpeg"},
    ],
)
def test_cloudflare_melotts_base64_or_bytes(api_client, melotts, http_mock, answer):
    http_mock.add(responses.POST, CF_RUN + MELOTTS, **answer)

    response = speak(api_client, melotts.public_id, voice="echo")

    assert (response["Content-Type"], response.content) == ("audio/mpeg", MP3)
    assert json_sent(http_mock) == {"prompt": "Hello there.", "lang": "en"}


def test_pollinations_mp3_bytes(api_client, workspace, http_mock):
    model = media_model(credential(workspace, "pollinations"), "openai-audio", "speech")
    http_mock.add(
        responses.GET,
        re.compile(re.escape(POLLINATIONS) + r"/audio/.*"),
        body=MP3,
        content_type="audio/mpeg",
    )

    response = speak(api_client, model.public_id, voice="nova")

    assert response.content == MP3
    assert "voice=nova" in http_mock.calls[0].request.url


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"error": {"message": "model overloaded"}}},
        {"body": b"<html><body>Service Unavailable</body></html>", "content_type": "text/html"},
        {"body": b'{"error": "not audio"}', "content_type": "audio/mpeg"},
        {"body": b"", "content_type": "audio/wav"},
    ],
    ids=["json", "html", "json-labelled-audio", "empty"],
)
def test_an_upstream_answer_that_is_not_audio_is_502(api_client, orpheus, http_mock, answer):
    http_mock.add(responses.POST, GROQ_SPEECH, **answer)

    response = speak(api_client, orpheus.public_id)

    assert response.status_code == 502
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "upstream_invalid_response"
    assert "overloaded" not in response.content.decode()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_upstream_server_error_is_502_upstream_error(api_client, orpheus, http_mock, status):
    http_mock.add(responses.POST, GROQ_SPEECH, status=status, body="<html>down</html>")

    response = speak(api_client, orpheus.public_id)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert response.json()["error"]["attempts"][0]["provider"] == "groq"


def test_audio_over_the_output_cap_is_502(api_client, orpheus, http_mock, settings):
    settings.SPEECH_MAX_OUTPUT_BYTES = len(WAV) - 1
    http_mock.add(responses.POST, GROQ_SPEECH, body=WAV, content_type="audio/wav")

    response = speak(api_client, orpheus.public_id)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"


def test_a_rate_limited_speech_model_falls_back(api_client, orpheus, flux_tts, http_mock):
    http_mock.add(responses.POST, GROQ_SPEECH, status=429, json={"error": {"message": "slow"}})
    http_mock.add(responses.POST, OPENROUTER_SPEECH, body=MP3, content_type="audio/mpeg")

    response = speak(api_client, "tts-1")

    assert response.status_code == 200
    assert response["x-openprovider-model"] == flux_tts.public_id
    row = log_row(response)
    assert row.endpoint == "audio.speech"
    assert [a["status"] for a in row.attempts] == ["rate_limited", "ok"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": "x" * 4097}, "input"),
        ({"response_format": "ogg"}, "response_format"),
        ({"speed": 10}, "speed"),
        ({"voice": "a b"}, "voice"),
        ({"model_id": None}, "model"),
        ({"input": 12}, "input"),
        ({"voice": 7}, "voice"),
        ({"speed": "1.5"}, "speed"),
        ({"speed": True}, "speed"),
        ({"instructions": ["calm"]}, "instructions"),
    ],
)
def test_invalid_speech_requests_are_400(api_client, orpheus, http_mock, body, param):
    response = speak(api_client, **{"model_id": orpheus.public_id, **body})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert len(http_mock.calls) == 0


def test_the_input_cap_follows_the_setting(api_client, orpheus, settings):
    settings.SPEECH_MAX_INPUT_CHARS = 5

    response = speak(api_client, orpheus.public_id, input="123456")

    assert response.status_code == 400


def test_a_text_model_is_a_category_mismatch(api_client, workspace, http_mock):
    text = media_model(credential(workspace, "groq"), "llama-3.1-8b", "text")

    response = speak(api_client, text.public_id)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_category_mismatch"

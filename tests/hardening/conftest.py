"""Hostile-input fixtures: one workspace with a model of every category, and the /v1 inventory."""

import base64
import json
import re
from dataclasses import dataclass

import pytest
import responses

from catalog.models import CatalogModel
from gateway.api import urls as v1_urls
from tests.conftest import provider_fixture
from tests.fakeprovider import tiny_png, tiny_wav
from tests.gateway.conftest import ALT_BASE, groq_completion, make_credential, make_model

PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
VISION_CAPS = {"tools": False, "structured_output": False, "streaming": True, "vision": True}
SAMPLE_PATH_VALUES = {
    "model_id": "relay/relay-chat",
    "name": "A" * 32 + ".png",
    "response_id": "resp_sample",
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    method: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _sample_path(pattern: str) -> str:
    return "/v1/" + re.sub(
        r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), pattern
    )


def v1_routes() -> list[Route]:
    """Every (route, method) the /v1 URLconf serves, read from the URLconf itself."""
    routes = []
    for pattern in v1_urls.urlpatterns:
        actions = getattr(pattern.callback, "actions", None)
        if actions is None:  # the catch-all unknown-route function
            continue
        for method in actions:
            routes.append(Route(pattern.name, _sample_path(str(pattern.pattern)), method.upper()))
    return routes


ROUTES = v1_routes()
POST_ROUTES = [route for route in ROUTES if route.method == "POST"]
GET_ROUTES = [route for route in ROUTES if route.method == "GET"]


@pytest.fixture
def catalog(workspace) -> dict[str, CatalogModel]:
    """A custom OpenAI-compatible provider with a text, vision, image and speech model."""
    relay = make_credential(workspace, "custom", "relay", base_url=ALT_BASE)
    media_caps = {"tools": False, "structured_output": False, "streaming": False}
    return {
        "text": make_model(relay, "relay-chat"),
        "vision": make_model(relay, "relay-vision", category="vision", capabilities=VISION_CAPS),
        "image": make_model(relay, "relay-image", category="image", capabilities=media_caps),
        "speech": make_model(
            relay, "relay-tts", category="speech", capabilities=media_caps, voices=["alloy"]
        ),
        "embedding": make_model(
            relay, "relay-embed", category="embedding", capabilities=media_caps
        ),
        "transcription": make_model(
            relay, "relay-whisper", category="transcription", capabilities=media_caps
        ),
    }


def valid_body(route_name: str, catalog: dict[str, CatalogModel]) -> dict:
    """A body each POST route accepts, so a hostile change to one field is what gets judged."""
    bodies = {
        "v1-chat-completions": {
            "model": catalog["text"].public_id,
            "messages": [{"role": "user", "content": "Say hello"}],
        },
        "v1-images-generations": {"model": catalog["image"].public_id, "prompt": "a red square"},
        "v1-images-analyze": {
            "model": catalog["vision"].public_id,
            "prompt": "What is it?",
            "image_url": PNG_DATA_URL,
        },
        "v1-audio-speech": {
            "model": catalog["speech"].public_id,
            "input": "Hello there",
            "voice": "alloy",
        },
        "v1-embeddings": {"model": catalog["embedding"].public_id, "input": "Hello there"},
        "v1-completions": {"model": catalog["text"].public_id, "prompt": "Say hello"},
        # a JSON body cannot carry the audio: answered with a 400 naming `file`
        "v1-audio-transcriptions": {"model": catalog["transcription"].public_id},
        "v1-responses": {"model": catalog["text"].public_id, "input": "Say hello"},
    }
    return bodies.get(route_name, {})


def _relay_chat(request) -> tuple[int, dict[str, str], bytes]:
    """A recorded Groq stream when the call asks for one, else a recorded completion."""
    if json.loads(request.body or b"{}").get("stream"):
        return 200, {"Content-Type": "text/event-stream"}, provider_fixture("groq/chat_stream.sse")
    body = json.dumps(groq_completion(content="Hi.")).encode()
    return 200, {"Content-Type": "application/json"}, body


def _relay_embeddings(request) -> tuple[int, dict[str, str], bytes]:
    """One vector per input, as OpenAI-compatible servers answer."""
    inputs = json.loads(request.body or b"{}").get("input") or []
    data = [
        {"object": "embedding", "index": i, "embedding": [0.5, -0.25]} for i in range(len(inputs))
    ]
    return 200, {"Content-Type": "application/json"}, json.dumps({"data": data}).encode()


def mock_relay(mock: responses.RequestsMock) -> None:
    """Successful answers from the relay for chat (plain or streamed), images, speech,
    embeddings and transcriptions."""
    mock.add_callback(responses.POST, f"{ALT_BASE}/chat/completions", callback=_relay_chat)
    png = base64.b64encode(tiny_png()).decode()
    mock.add(responses.POST, f"{ALT_BASE}/images/generations", json={"data": [{"b64_json": png}]})
    mock.add(responses.POST, f"{ALT_BASE}/audio/speech", body=tiny_wav(), content_type="audio/wav")
    mock.add_callback(responses.POST, f"{ALT_BASE}/embeddings", callback=_relay_embeddings)
    transcript = {"text": "Hello there.", "segments": [{"start": 0, "end": 1, "text": "Hello."}]}
    mock.add(responses.POST, f"{ALT_BASE}/audio/transcriptions", json=transcript)


from tests.gateway.conftest import chat_call  # noqa: E402, F401 - shared fixture

"""The /v1 request bodies in /api/schema come from the serializers that validate them."""

import pytest
import yaml

from gateway.api.chat_request import SCALARS
from gateway.api.media_input import MAX_IMAGES


@pytest.fixture
def schema(client) -> dict:
    return yaml.safe_load(client.get("/api/schema").content)


def body(schema: dict, path: str, media_type: str = "application/json") -> dict:
    content = schema["paths"][path]["post"]["requestBody"]["content"][media_type]["schema"]
    name = content["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][name]


def test_the_chat_body_has_the_validators_rules(schema):
    chat = body(schema, "/v1/chat/completions")

    assert chat["required"] == ["messages"]  # `model` may come from `models`
    assert chat["properties"]["messages"]["minItems"] == 1
    for name, (_kind, low, high) in SCALARS.items():
        field = chat["properties"][name]
        assert field.get("minimum") == low, name
        assert field.get("maximum") == high, name
        assert field["nullable"] is True  # null is the same as absent


def test_the_media_bodies_have_the_validators_rules(schema):
    generation = body(schema, "/v1/images/generations")
    speech = body(schema, "/v1/audio/speech")
    by_url = body(schema, "/v1/images/analyze")
    upload = body(schema, "/v1/images/analyze", "multipart/form-data")

    assert generation["properties"]["n"]["maximum"] == MAX_IMAGES
    assert sorted(speech["required"]) == ["input", "model"]
    assert speech["properties"]["speed"]["minimum"] == 0.25
    assert sorted(by_url["required"]) == ["image_url", "prompt"]
    assert "file" not in by_url["properties"]
    assert sorted(upload["required"]) == ["file", "prompt"]
    assert upload["properties"]["file"]["format"] == "binary"


def test_the_streamed_chat_answer_and_the_error_envelope_are_still_described(schema):
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]

    assert "text/event-stream" in chat["200"]["content"]
    assert chat["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }


def test_the_embeddings_transcriptions_and_completions_routes_are_described(schema):
    embeddings = body(schema, "/v1/embeddings")
    transcription = body(schema, "/v1/audio/transcriptions", "multipart/form-data")
    completion = body(schema, "/v1/completions")
    answers = {
        path: schema["paths"][path]["post"]["responses"]["200"]["content"]
        for path in ("/v1/embeddings", "/v1/audio/transcriptions", "/v1/completions")
    }

    assert sorted(embeddings["required"]) == ["input", "model"]
    assert enum(schema, embeddings["properties"]["encoding_format"]) == ["float", "base64"]
    assert len(embeddings["properties"]["input"]["oneOf"]) == 4
    assert sorted(transcription["required"]) == ["file", "model"]
    assert transcription["properties"]["file"]["format"] == "binary"
    assert set(enum(schema, transcription["properties"]["response_format"])) >= {"srt", "vtt"}
    assert "prompt" in completion["required"]
    assert set(answers["/v1/audio/transcriptions"]) == {"application/json", "text/plain"}
    assert "text/event-stream" in answers["/v1/completions"]
    for content in answers.values():
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")


def enum(schema: dict, field: dict) -> list:
    """The values of a nullable enum field (drf-spectacular names the enum as a component)."""
    name = field["oneOf"][0]["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][name]["enum"]

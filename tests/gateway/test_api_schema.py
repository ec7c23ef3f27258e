"""The /v1 request bodies in /api/schema come from the serializers that validate them."""

import json

import pytest
import responses
import yaml
from drf_spectacular.validation import validate_schema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway.api.chat_request import SCALARS
from gateway.api.media_input import MAX_IMAGES
from tests.contract.openai_spec import with_null
from tests.gateway.conftest import GROQ_CHAT, HELLO, groq_completion


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


OPENAI_ANSWERS = {
    ("/v1/chat/completions", "post"): "OpenAICreateChatCompletionResponse",
    ("/v1/models", "get"): "OpenAIListModelsResponse",
    ("/v1/models/{model_id}", "get"): "OpenAIModel",
    ("/v1/images/generations", "post"): "OpenAIImagesResponse",
}


def component(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def validator(schema: dict, name: str) -> Draft202012Validator:
    """Our document as JSON Schema: OpenAPI 3.0's `nullable` read as "or null"."""
    registry = Registry().with_resource(
        "urn:ours", Resource.from_contents(with_null(schema), default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"urn:ours#/components/schemas/{name}"}, registry=registry)


def test_the_document_is_valid_openapi(schema):
    validate_schema(schema)


@pytest.mark.parametrize(("route", "openai_name"), OPENAI_ANSWERS.items(), ids=str)
def test_each_openai_route_answers_openais_schema_plus_our_fields(schema, route, openai_name):
    path, method = route
    answer = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    ours = component(schema, answer["schema"])

    assert ours["allOf"][0] == {"$ref": f"#/components/schemas/{openai_name}"}
    assert schema["components"]["schemas"][openai_name]["required"]
    assert ours["allOf"][1]["properties"]  # the fields OpenProvider adds, typed


def test_no_openai_route_answers_a_free_form_object(schema):
    for (path, method), _ in [*OPENAI_ANSWERS.items(), (("/v1/generation", "get"), None)]:
        answer = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert "$ref" in answer["schema"], path


def test_openais_schemas_are_written_in_openapi_30(schema):
    text = json.dumps(schema["components"]["schemas"])

    assert '{"type": "null"}' not in text
    chunk = schema["components"]["schemas"]["OpenAICreateChatCompletionStreamResponse"]
    assert chunk["properties"]["usage"]["nullable"] is True
    fingerprint = chunk["properties"]["system_fingerprint"]
    assert fingerprint["type"] == "string"
    assert "nullable" not in fingerprint


def test_the_documented_completion_accepts_a_real_answer_and_rejects_a_null_fingerprint(
    schema, api_client, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    payload = {"model": groq_model.public_id, "messages": HELLO}
    answer = api_client.post("/v1/chat/completions", payload, format="json").json()
    documented = validator(schema, "ChatCompletion")

    assert list(documented.iter_errors(answer)) == []
    assert not documented.is_valid({**answer, "system_fingerprint": None})
    assert not documented.is_valid({**answer, "provider": 5})


def test_the_generation_lookup_documents_the_estimated_flag(schema):
    data = schema["components"]["schemas"]["Generation"]["properties"]["data"]["properties"]

    assert data["usage_estimated"]["type"] == "boolean"
    counts = {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert set(data["usage"]["properties"]) == counts


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
    assert set(answers["/v1/audio/transcriptions"]) == {
        "application/json",
        "text/plain",
        "application/x-subrip",
        "text/vtt",
    }
    assert "text/event-stream" in answers["/v1/completions"]
    for content in answers.values():
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")


def enum(schema: dict, field: dict) -> list:
    """The values of a nullable enum field (drf-spectacular names the enum as a component)."""
    name = field["oneOf"][0]["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][name]["enum"]

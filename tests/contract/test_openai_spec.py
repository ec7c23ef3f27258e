"""The vendored OpenAI schemas and their validator: pinned, complete, strict where the spec is."""

import copy
import json
import re
from pathlib import Path

import pytest

from tests.contract import vendor_openai_schemas as vendor
from tests.contract.openai_spec import (
    SCHEMAS,
    assert_matches,
    component_names,
    document,
    operation,
    spec_errors,
)

FIXTURES = Path(__file__).parent / "fixtures"
CHUNK = "CreateChatCompletionStreamResponse"
COMPLETION = {
    "id": "gen-1",
    "object": "chat.completion",
    "created": 1,
    "model": "groq/llama",
    "provider": "groq",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
}


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def events(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


def test_the_schemas_come_from_a_pinned_commit_with_openais_licence():
    source = json.loads(SCHEMAS.read_text())["source"]
    licence = SCHEMAS.with_name("LICENSE").read_text()

    assert source["repository"] == "openai/openai-openapi"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["openapi"].startswith("3.1")
    assert "MIT License" in licence
    assert "Copyright (c) OpenAI" in licence


def test_the_vendored_components_are_exactly_the_closure_of_what_is_validated():
    raw = json.loads(SCHEMAS.read_text())
    schemas = raw["components"]["schemas"]
    wanted = vendor.refs_in(raw["operations"]) | set(vendor.ROOTS)

    assert vendor.closure(schemas, wanted) == schemas  # every $ref resolves, nothing extra


@pytest.mark.parametrize(("method", "path"), vendor.OPERATIONS)
def test_every_openai_route_served_or_planned_is_vendored(method, path):
    assert operation(method, path)["responses"]


@pytest.mark.parametrize(
    "name",
    [
        "ListModelsResponse",
        "Model",
        "CreateChatCompletionResponse",
        CHUNK,
        "ErrorResponse",
        "ImagesResponse",
        "CreateEmbeddingResponse",
        "CreateTranscriptionResponseJson",
        "CreateTranscriptionResponseVerboseJson",
        "CreateCompletionResponse",
        "Response",
        "ResponseStreamEvent",
        "ResponseItemList",
    ],
)
def test_the_schema_of_each_answer_is_there(name):
    assert name in component_names()


def test_the_broken_fixture_fails_for_its_null_fingerprint():
    broken = fixture("broken_chunk_null_fingerprint.json")

    assert spec_errors(CHUNK, broken) == ["$.system_fingerprint: None is not of type 'string'"]
    with pytest.raises(AssertionError, match="system_fingerprint"):
        assert_matches(CHUNK, broken)


def test_the_same_chunk_passes_with_a_fingerprint_or_without_one():
    chunk = fixture("broken_chunk_null_fingerprint.json")
    chunk["system_fingerprint"] = "fp_c82faf3ca0"
    assert spec_errors(CHUNK, chunk) == []

    del chunk["system_fingerprint"]
    assert spec_errors(CHUNK, chunk) == []


def test_nullable_fields_accept_null_as_the_spec_means():
    chunk = fixture("broken_chunk_null_fingerprint.json")
    del chunk["system_fingerprint"]
    chunk["usage"] = None  # `nullable: true` in the 3.1 document

    assert spec_errors(CHUNK, chunk) == []


def test_required_fields_must_be_present_with_their_types_and_extras_are_allowed():
    assert spec_errors("CreateChatCompletionResponse", COMPLETION) == []  # `provider` is extra

    no_refusal = copy.deepcopy(COMPLETION)
    del no_refusal["choices"][0]["message"]["refusal"]
    created_as_text = {**COMPLETION, "created": "1"}

    assert spec_errors("CreateChatCompletionResponse", no_refusal) == [
        "$.choices[0].message: 'refusal' is a required property"
    ]
    assert spec_errors("CreateChatCompletionResponse", created_as_text) == [
        "$.created: '1' is not of type 'integer'"
    ]


def test_an_error_envelope_needs_openais_four_keys():
    error = {"message": "m", "type": "t", "param": None, "code": None, "request_id": "gen-1"}

    assert spec_errors("ErrorResponse", {"error": error}) == []
    assert sorted(spec_errors("ErrorResponse", {"error": {"message": "m", "type": "t"}})) == [
        "$.error: 'code' is a required property",
        "$.error: 'param' is a required property",
    ]


@pytest.mark.parametrize(
    "name", ["openai_responses_text.chunks.jsonl", "openai_responses_function_call.chunks.jsonl"]
)
def test_a_recorded_responses_stream_validates_event_by_event(name):
    """OpenAI's own stream breaks its spec in three places (null `usage` before the end, null
    `user`, no `name` in function_call_arguments.done); an answer of ours may not."""
    recorded = events(name)
    deviations = {line for event in recorded for line in spec_errors("ResponseStreamEvent", event)}
    assert deviations <= {
        "$.response.usage: None is not of type 'object'",
        "$.response.user: None is not of type 'string'",
        "$: 'name' is a required property",
    }

    for event in recorded:
        if "response" in event:
            event["response"].pop("user")
            if event["response"]["usage"] is None:
                del event["response"]["usage"]
        if event["type"] == "response.function_call_arguments.done":
            event["name"] = "get_weather"
        assert spec_errors("ResponseStreamEvent", event) == [], event["type"]
    assert spec_errors("Response", recorded[-1]["response"]) == []
    assert [event["sequence_number"] for event in recorded] == list(range(len(recorded)))


def test_a_stream_event_of_an_unknown_type_is_named_as_such():
    assert spec_errors("ResponseStreamEvent", {"type": "response.nope"}) == [
        "$: no ResponseStreamEvent has this type"
    ]


def test_the_spec_loads_without_the_openapi_30_nullable_keyword():
    assert '"nullable"' not in json.dumps(document())

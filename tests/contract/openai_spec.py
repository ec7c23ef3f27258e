"""Validate /v1 answers against OpenAI's published schemas (gateway/api/openai_spec/, vendored).

The vendored document is OpenAPI 3.1, so its schemas are JSON Schema 2020-12, except that 46
of them still say `nullable: true` (an OpenAPI 3.0 keyword a 2020-12 validator ignores): those
become "or null" when the document is loaded. Nothing else is loosened: a required field must be
there with its type, and null only where the spec allows it. Fields the spec does not name
(`provider`, `request_id`, `attempts`) are extras OpenAI's response schemas allow.

    assert_matches("CreateChatCompletionResponse", body)
    assert_stream_matches("CreateChatCompletionStreamResponse", raw_sse_bytes)
    assert_response_matches(response, "POST", "/chat/completions")  # by the answer's media type
"""

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parents[2] / "gateway" / "api" / "openai_spec" / "schemas.json"
BASE = "urn:openai-openapi"
ERROR = "ErrorResponse"
BINARY = {"type": "string", "format": "binary"}


def with_null(node: Any) -> Any:
    """The schema with every `nullable: true` turned into JSON Schema's "or null"."""
    if isinstance(node, list):
        return [with_null(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: with_null(value) for key, value in node.items()}
    if not node.pop("nullable", False):
        return node
    if isinstance(node.get("type"), str) and "$ref" not in node:
        node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


@functools.cache
def document() -> dict[str, Any]:
    return with_null(json.loads(SCHEMAS.read_text()))


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(BASE, resource)


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{BASE}#{quote(pointer)}"}, registry=_registry())


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def component_names() -> list[str]:
    return sorted(document()["components"]["schemas"])


def spec_errors(name: str, body: Any) -> list[str]:
    """Every way `body` breaks component `name`, as "path: message" lines (empty: it conforms)."""
    schemas = document()["components"]["schemas"]
    if name not in schemas:
        raise KeyError(f"{name} is not among the vendored OpenAI schemas")
    branch = _discriminated(schemas[name], body)
    if branch is not None:
        return spec_errors(branch, body) if branch else [f"$: no {name} has this type"]
    return _errors(_validator(_pointer("components", "schemas", name)), body)


def _discriminated(schema: dict[str, Any], body: Any) -> str | None:
    """The union member OpenAPI's `discriminator` picks for `body` (a stream event's `type`),
    "" when none does, None when `schema` is no discriminated union of components."""
    key = schema.get("discriminator", {}).get("propertyName")
    members = schema.get("anyOf") or schema.get("oneOf") or []
    if not key or not isinstance(body, dict):
        return None
    for member in members:
        name = member.get("$ref", "").rsplit("/", 1)[-1]
        tag = document()["components"]["schemas"].get(name, {}).get("properties", {}).get(key, {})
        if body.get(key) in (tag.get("enum") or [tag.get("const")]):
            return name
    return ""


def _errors(validator: Draft202012Validator, body: Any) -> list[str]:
    """One line per error; inside a union (`anyOf`/`oneOf`: a stream event's type), the most
    relevant branch's error, so the line names the field at fault."""
    found = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{(error := best_match([top])).json_path}: {error.message}" for top in found]


def assert_matches(name: str, body: Any) -> None:
    errors = spec_errors(name, body)
    assert not errors, f"not a valid OpenAI {name}:\n" + "\n".join(errors[:20])


def sse_data(raw: bytes) -> list[Any]:
    """The JSON payload of every SSE event with data, in order; `[DONE]` stays a string."""
    events = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line.startswith("data:")]
        if lines:
            data = "\n".join(line.removeprefix("data:").removeprefix(" ") for line in lines)
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def assert_stream_matches(name: str, raw: bytes) -> list[Any]:
    """Every event of an SSE body matches `name`, an error event matches ErrorResponse, and
    nothing follows `[DONE]`. Returns the parsed events."""
    events = sse_data(raw)
    assert events, "the stream sent no event"
    for position, event in enumerate(events):
        if event == "[DONE]":
            assert position == len(events) - 1, "events after [DONE]"
            continue
        is_error = isinstance(event, dict) and set(event) == {"error"}
        errors = spec_errors(ERROR if is_error else name, event)
        assert not errors, f"event {position} is not a valid OpenAI {name}:\n" + "\n".join(
            errors[:20]
        )
    return events


def operation(method: str, path: str) -> dict[str, Any]:
    """The vendored request and response schemas of one OpenAI operation."""
    return document()["operations"][f"{method.upper()} {path}"]


def assert_response_matches(response: Any, method: str, path: str) -> None:
    """A test-client answer conforms to the spec for its status and media type: an error is an
    ErrorResponse; a 2xx answer matches the schema the operation declares for its media type
    (JSON body, each SSE event, or binary audio)."""
    media = response["Content-Type"].split(";")[0].strip()
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.status_code >= 400:
        assert media == "application/json", media
        assert_matches(ERROR, json.loads(content))
        return
    declared = operation(method, path)["responses"][str(response.status_code)]
    if media == "text/event-stream":
        assert media in declared, f"{method} {path} does not stream"
        _assert_events(method, path, content)
    elif media == "application/json":
        assert media in declared, f"{method} {path} does not answer JSON"
        pointer = _pointer("operations", f"{method.upper()} {path}", "responses")
        validator = _validator(pointer + _pointer(str(response.status_code), media))
        errors = _errors(validator, json.loads(content))
        assert not errors, f"not a valid answer to {method} {path}:\n" + "\n".join(errors[:20])
    else:  # audio: OpenAI declares a binary body; any audio type is a binary body
        assert declared.get("application/octet-stream") == BINARY, f"{method} {path}: {media}"
        assert media.startswith("audio/") or media == "application/octet-stream", media
        assert content, "an empty audio body"


def _assert_events(method: str, path: str, content: bytes) -> None:
    schema = operation(method, path)["responses"]["200"]["text/event-stream"]
    assert_stream_matches(schema["$ref"].rsplit("/", 1)[-1], content)

"""Extract the OpenAI API schemas of every /v1 route OpenProvider serves into one JSON file.

Source: github.com/openai/openai-openapi (MIT, see gateway/api/openai_spec/LICENSE) at a pinned
commit.
The upstream document changes often, so the subset the contract tests validate against is
vendored: the operations below (request and response schemas per media type) and the closure of
every component they reference, unchanged. Re-vendor on purpose, never at test time:

    git -C openai-openapi show <commit>:openapi.json > /tmp/openapi.json
    python tests/contract/vendor_openai_schemas.py /tmp/openapi.json <commit>
"""

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).parents[2] / "gateway" / "api" / "openai_spec" / "schemas.json"
REPOSITORY = "openai/openai-openapi"
OPERATIONS = [
    ("get", "/models"),
    ("get", "/models/{model}"),
    ("post", "/chat/completions"),
    ("post", "/completions"),
    ("post", "/embeddings"),
    ("post", "/images/generations"),
    ("post", "/audio/speech"),
    ("post", "/audio/transcriptions"),
    ("post", "/responses"),
    ("get", "/responses/{response_id}"),
    ("delete", "/responses/{response_id}"),
    ("get", "/responses/{response_id}/input_items"),
]
# Components validated directly, besides those the operations name: the error body, every
# stream event type and the transcription shapes.
ROOTS = [
    "Error",
    "ErrorResponse",
    "CreateChatCompletionStreamResponse",
    "ResponseStreamEvent",
    "ResponseErrorEvent",
    "CreateTranscriptionResponseJson",
    "CreateTranscriptionResponseVerboseJson",
    "DeleteModelResponse",
]
REF_PREFIX = "#/components/schemas/"


def refs_in(node: Any) -> set[str]:
    """Names of the components a node references directly."""
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(REF_PREFIX)} if "$ref" in node else set()
        return found.union(*(refs_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs_in(value) for value in node))
    return set()


def closure(schemas: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The named components and every component they reach through $ref."""
    seen: set[str] = set()
    pending = set(names)
    while pending:
        name = pending.pop()
        seen.add(name)
        pending |= refs_in(schemas[name]) - seen
    return {name: schemas[name] for name in sorted(seen)}


def operation_subset(spec: dict[str, Any]) -> dict[str, Any]:
    """Per operation: the request and response schemas, keyed by media type."""
    operations = {}
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method]
        request = operation.get("requestBody", {}).get("content", {})
        operations[f"{method.upper()} {path}"] = {
            "request": {media: body.get("schema", {}) for media, body in request.items()},
            "responses": {
                status: {
                    media: body.get("schema", {})
                    for media, body in answer.get("content", {}).items()
                }
                for status, answer in operation.get("responses", {}).items()
            },
        }
    return operations


def vendor(source: Path, commit: str) -> dict[str, Any]:
    raw = source.read_bytes()
    spec = json.loads(raw)
    operations = operation_subset(spec)
    names = refs_in(operations) | set(ROOTS)
    return {
        "source": {
            "repository": REPOSITORY,
            "commit": commit,
            "file": "openapi.json",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "openapi": spec["openapi"],
            "version": spec["info"]["version"],
            "license": "MIT, Copyright (c) OpenAI; see LICENSE beside this file",
        },
        "operations": operations,
        "components": {"schemas": closure(spec["components"]["schemas"], names)},
    }


if __name__ == "__main__":
    document = vendor(Path(sys.argv[1]), sys.argv[2])
    OUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"{len(document['components']['schemas'])} schemas -> {OUT}")  # noqa: T201

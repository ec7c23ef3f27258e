"""OpenAI's published response schemas, as components of our OpenAPI 3.0 document.

`openai_spec/schemas.json` is a pinned extract of github.com/openai/openai-openapi (MIT, see
`openai_spec/LICENSE`; re-extracted by tests/contract/vendor_openai_schemas.py), the same file
the contract tests validate every /v1 answer against. OpenAI writes OpenAPI 3.1; our document is
3.0, so "or null" (`anyOf` with `{"type": "null"}`) becomes 3.0's `nullable`. Components keep
OpenAI's names behind a prefix (`OpenAIModel`), so they never collide with ours.
"""

import functools
import json
from pathlib import Path
from typing import Any

SPEC_FILE = Path(__file__).with_name("openai_spec") / "schemas.json"
PREFIX = "OpenAI"
REF = "#/components/schemas/"


@functools.cache
def _vendored() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(SPEC_FILE.read_text())["components"]["schemas"]
    return schemas


def openai_ref(name: str) -> dict[str, str]:
    """A $ref to OpenAI's schema `name` as it is named in our document."""
    return {"$ref": f"{REF}{PREFIX}{name}"}


def openai_components(names: set[str]) -> dict[str, Any]:
    """The named OpenAI schemas and every schema they reference, converted to OpenAPI 3.0."""
    schemas, seen, pending = _vendored(), set(), set(names)
    while pending:
        name = pending.pop()
        seen.add(name)
        pending |= _refs(schemas[name]) - seen
    return {PREFIX + name: _to_30(schemas[name]) for name in sorted(seen)}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(REF)} if "$ref" in node else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def _to_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_30(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_30(value) for key, value in node.items()}
    if "$ref" in node:
        node["$ref"] = REF + PREFIX + node["$ref"].removeprefix(REF)
    for union in ("anyOf", "oneOf"):
        members = node.get(union)
        if isinstance(members, list) and {"type": "null"} in members:
            node = _nullable(node, union, [m for m in members if m != {"type": "null"}])
    if isinstance(node.get("type"), list):  # ["string", "null"]
        given = node.pop("type")
        kinds = [kind for kind in given if kind != "null"]
        if len(kinds) == 1:
            node["type"] = kinds[0]
        else:
            node["anyOf"] = [{"type": kind} for kind in kinds]
        if "null" in given:
            node["nullable"] = True
    return node


def _nullable(node: dict[str, Any], union: str, members: list[Any]) -> dict[str, Any]:
    rest = {key: value for key, value in node.items() if key != union}
    if len(members) != 1:
        return {**rest, union: members, "nullable": True}
    (member,) = members
    if "$ref" in member:  # 3.0 ignores siblings of $ref
        return {**rest, "allOf": [member], "nullable": True}
    return {**member, **rest, "nullable": True}

"""The embeddings workflow behind /v1/embeddings: vectors from the workspace's free embedding
models, routed and logged like every media request (gateway.media.routing).

Upstream is always asked for floats; `encoding_format: base64` (what the openai SDK asks for by
default) is encoded here, as OpenAI does: little-endian float32. An answer with the wrong number
of vectors, or vectors that are not lists of finite numbers, is an invalid response: the next
candidate is tried.
"""

import base64
import math
import struct
from typing import Any

from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.media_input import EmbeddingInput, parse_input
from gateway.chat.normalize import usage_of
from gateway.media.audio import invalid
from gateway.media.routing import (
    Caller,
    Endpoint,
    MediaResult,
    auto_alias,
    logged_call,
    media_candidates,
)
from gateway.routing.candidates import route_adapter
from gateway.routing.context import ChatContext, served_headers
from gateway.routing.fallback import run_with_fallback
from providers import parsing

OPENAI_EMBEDDING_MODELS = frozenset(
    {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
)
EMBEDDINGS_ENDPOINT = Endpoint(
    "embeddings",
    "/v1/embeddings",
    "an embedding model",
    lambda m: m.category == CatalogModel.Category.EMBEDDING,
    CatalogModel.Category.EMBEDDING,
)
Vectors = list[list[float]]
Embedded = tuple[Vectors, dict[str, Any]]  # the vectors and the usage


def embeddings_create(*, caller: Caller, payload: Any) -> MediaResult:
    """OpenAI embeddings.create: one vector per input, in input order."""
    data: dict[str, Any] = {}

    def work(ctx: ChatContext) -> tuple[CatalogModel, Embedded, dict[str, Any]]:
        data.update(parse_input(EmbeddingInput, payload))
        model_id = auto_alias(data["model"], OPENAI_EMBEDDING_MODELS)
        candidates = media_candidates(caller.workspace, model_id, EMBEDDINGS_ENDPOINT)
        release_db_connections()
        model, embedded = run_with_fallback(ctx, candidates, lambda m: _embed(m, data))
        return model, embedded, embedded[1]

    model, (vectors, usage), _ = logged_call(caller, EMBEDDINGS_ENDPOINT, payload, work)
    as_base64 = data.get("encoding_format") == "base64"
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encoded(v, as_base64)}
            for i, v in enumerate(vectors)
        ],
        "model": model.public_id,
        "provider": model.credential.name,
        "usage": usage,
    }
    return MediaResult(headers=served_headers(model), body=body)


def _embed(model: CatalogModel, data: dict[str, Any]) -> Embedded:
    payload: dict[str, Any] = {"model": model.upstream_id, "input": data["input"]}
    if "dimensions" in data:
        payload["dimensions"] = data["dimensions"]
    answer = route_adapter(model.credential).embeddings(payload)
    vectors = _vectors(answer, expected=len(data["input"]))
    usage = usage_of(answer) or _estimated_usage(data["input"])
    return vectors, {"prompt_tokens": usage["prompt_tokens"], "total_tokens": usage["total_tokens"]}


def _vectors(answer: dict[str, Any], *, expected: int) -> Vectors:
    rows = [row for row in parsing.listed(answer.get("data")) if isinstance(row, dict)]
    if len(rows) != expected:
        raise invalid(f"{len(rows)} embeddings for {expected} inputs")
    rows.sort(key=lambda row: row["index"] if isinstance(row.get("index"), int) else 0)
    return [_vector(row.get("embedding")) for row in rows]


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # a provider that answers base64 whatever was asked
        raw = parsing.b64(value) or b""
        value = list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))
    if not isinstance(value, list) or not value:
        raise invalid("an embedding that is not a list of numbers")
    numbers = [parsing.number(item) for item in value]
    if any(n is None or isinstance(item, str) for n, item in zip(numbers, value, strict=True)):
        raise invalid("an embedding that is not a list of numbers")
    return [n for n in numbers if n is not None]


def _encoded(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _estimated_usage(inputs: list[Any]) -> dict[str, int]:
    """Characters / 4 for text, the count for token arrays."""
    tokens = sum(
        len(item) if isinstance(item, list) else math.ceil(len(item) / 4) for item in inputs
    )
    return {"prompt_tokens": tokens, "total_tokens": tokens}

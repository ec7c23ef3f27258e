"""Model-listing pieces the adapters share: the ModelInfo a parse_model builds, listing rows.

Every adapter reads its provider's own listing shape; what they have in common lives here so a
rule (name falls back to the id, evidence only on a free model, a page cap) is written once.
"""

from collections.abc import Callable
from typing import Any

import requests

from . import parsing
from .errors import unexpected_listing
from .transport import json_body
from .wire import ModelInfo

MAX_PAGES = 20  # a paged listing is cut here rather than followed forever

Params = dict[str, object]


def listed_model(
    upstream_id: str,
    category: str,
    *,
    free_evidence: str,
    free: bool = True,
    not_free_reason: str = "",
    name: str = "",
    context_length: int | None = None,
    max_output_tokens: int | None = None,
    tools: bool = False,
    structured_output: bool = False,
    description: str = "",
    voices: list[str] | None = None,
) -> ModelInfo:
    """A ModelInfo: the name falls back to the id, the evidence is kept only on a free model.

    A `not_free_reason` (parsing.PAID, parsing.PRICE_UNREADABLE) makes the model not free.
    """
    free = free and not not_free_reason
    return ModelInfo(
        upstream_id=upstream_id,
        name=name or upstream_id[: parsing.MAX_NAME],
        category=category,
        free=free,
        free_evidence=free_evidence if free else "",
        not_free_reason=not_free_reason,
        context_length=context_length,
        max_output_tokens=max_output_tokens,
        capabilities=parsing.capabilities(
            category, tools=tools, structured_output=structured_output
        ),
        description=description,
        voices=voices or [],
    )


def listed_rows(data: Any, key: str | None = None) -> list[Any]:
    """The model entries of a listing body: `data[key]`, or the body itself when it is a list."""
    rows = parsing.mapping(data).get(key) if key else data
    if not isinstance(rows, list):
        raise unexpected_listing()
    return rows


def token_paged_rows(
    fetch: Callable[[Params], requests.Response],
    params: Params,
    *,
    rows_key: str,
    next_key: str,
    next_param: str,
) -> list[Any]:
    """Every page of a listing that hands out a next-page token, up to MAX_PAGES."""
    rows: list[Any] = []
    for _ in range(MAX_PAGES):
        data = json_body(fetch(params))
        rows.extend(listed_rows(data, rows_key))
        token = data.get(next_key)
        if not isinstance(token, str) or not token:
            break
        params = {**params, next_param: token[:1000]}
    return rows

"""Hostile-input guard for discovered models: keep free ones, validate and truncate every field.

Upstream catalogs are untrusted: names with markup, megabyte descriptions, wrong types, negative
limits and duplicates all occur. Text is stored as plain text (escaped when rendered), clipped to
the column sizes; an id that cannot be stored intact is rejected, since a clipped id would not
route.
"""

import logging
import re
from collections.abc import Iterable
from typing import Any

from providers.families import family_of
from providers.wire import CATEGORIES, ModelInfo

logger = logging.getLogger(__name__)

MAX_UPSTREAM_ID = 250
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_EVIDENCE = 300
MAX_VOICES = 64
MAX_CAPABILITIES = 32
MAX_INT = 2_147_483_647
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_ID = re.compile(r"[\s\x00-\x1f\x7f]")


def clip(value: Any, limit: int) -> str:
    """Plain text without control characters (NUL breaks PostgreSQL), at most `limit` chars."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value)[:limit].strip()


def positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0:
        return None
    return min(value, MAX_INT)


def clean_capabilities(value: Any) -> dict[str, bool | None]:
    """Flags that are true, false or None (the provider does not say: unknown)."""
    if not isinstance(value, dict):
        return {}
    flags = {
        clip(k, 40): v
        for k, v in value.items()
        if isinstance(k, str) and (isinstance(v, bool) or v is None)
    }
    return dict(list(flags.items())[:MAX_CAPABILITIES])


def clean_voices(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [clip(v, 100) for v in value if isinstance(v, str) and clip(v, 100)][:MAX_VOICES]


def _valid_id(upstream_id: Any) -> bool:
    return (
        isinstance(upstream_id, str)
        and 0 < len(upstream_id) <= MAX_UPSTREAM_ID
        and not _BAD_ID.search(upstream_id)
    )


def model_fields(info: ModelInfo, *, credential_name: str, provider: str) -> dict[str, Any]:
    """The CatalogModel fields for one listed model (id already validated)."""
    return {
        "public_id": f"{credential_name}/{info.upstream_id}",
        "provider": provider,
        "name": clip(info.name, MAX_NAME) or info.upstream_id[:MAX_NAME],
        "description": clip(info.description, MAX_DESCRIPTION),
        "category": info.category,
        "family": family_of(info.upstream_id, provider=provider),
        "context_length": positive_int(info.context_length),
        "max_output_tokens": positive_int(info.max_output_tokens),
        "capabilities": clean_capabilities(info.capabilities),
        "voices": clean_voices(info.voices),
        "free_evidence": clip(info.free_evidence, MAX_EVIDENCE),
    }


def clean_model_rows(
    listed: Iterable[ModelInfo], *, credential_name: str, provider: str
) -> dict[str, dict[str, Any]]:
    """upstream id -> fields, for free models of a catalog category; the first duplicate wins."""
    rows: dict[str, dict[str, Any]] = {}
    rejected = 0
    for info in listed:
        if info.free is not True or info.category not in CATEGORIES:
            continue
        if not _valid_id(info.upstream_id):
            rejected += 1
            continue
        if info.upstream_id not in rows:
            rows[info.upstream_id] = model_fields(
                info, credential_name=credential_name, provider=provider
            )
    if rejected:
        logger.info("catalog sync rejected %d models with unusable ids", rejected)
    return rows

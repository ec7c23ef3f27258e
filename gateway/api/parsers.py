"""The /v1 JSON parser: UTF-8 only, bounded depth, and only strings a database can store.

DRF's JSONParser decodes with whatever charset the Content-Type names (bz2_codec and zlib_codec
included: a decompression bomb, GHSA-3547-9m27-7rxg), lets a deeply nested body raise
RecursionError (a 500), and accepts NUL characters and unpaired surrogates, which PostgreSQL
and UTF-8 encoding reject later. Here each of those is a 400 (415 for a charset) envelope.
"""

import codecs
import json
import math
import re
from typing import Any

from django.utils.http import parse_header_parameters
from rest_framework import renderers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from gateway.api.errors import ApiError

MAX_DEPTH = 64
UTF8_NAMES = frozenset({"utf-8", "utf8"})
# Cheap pre-check on the raw text: only a body with a \u0000 or a surrogate escape is walked.
SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class SafeJSONParser(BaseParser):
    """Not a JSONParser subclass on purpose: DRF would read it through request.body, which
    applies DATA_UPLOAD_MAX_MEMORY_SIZE to every route; the per-route cap is checked first by
    gateway.middleware.ApiErrorMiddleware instead (analyze takes a whole image)."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _, params = parse_header_parameters(media_type or "")
        charset = params.get("charset") or "utf-8"
        if _codec_name(charset) not in UTF8_NAMES:
            raise ApiError("JSON bodies must be UTF-8.", status=415, code="unsupported_media_type")
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except NonFiniteNumber:
            raise ApiError(
                "The JSON body holds a number too large to represent (numbers must be finite).",
                code="invalid_json",
            ) from None
        except (ValueError, RecursionError):
            raise ParseError("JSON parse error") from None
        if text.count("[") + text.count("{") > MAX_DEPTH:
            check_depth(data)
        if SUSPECT_ESCAPE.search(text):
            check_storable(data)
        return data


def _codec_name(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return ""


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class NonFiniteNumber(ValueError):
    """A number literal such as 1e400 that only a float infinity could hold."""


def _finite_float(literal: str) -> float:
    # Refused here, wherever it appears: a pass-through object (response_format, tools) would
    # otherwise carry `Infinity`, which is not JSON, upstream.
    value = float(literal)
    if not math.isfinite(value):
        raise NonFiniteNumber
    return value


def check_depth(data: Any) -> None:
    """400 if containers nest deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ApiError(
                    f"The JSON body nests deeper than {MAX_DEPTH} levels.", code="invalid_json"
                )
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def check_storable(data: Any) -> None:
    """400 naming the first string (key or value) with a NUL or an unpaired surrogate.

    A bad object key is named by the object that holds it: the key itself cannot be echoed (the
    JSON renderer cannot encode a lone surrogate either).
    """
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                _unstorable(f"Invalid '{path or 'body'}'", path)
        elif isinstance(value, dict):
            for key, child in value.items():
                if UNSTORABLE.search(key):
                    _unstorable(f"Invalid key in '{path or 'body'}'", path)
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(value))


def _unstorable(what: str, param: str) -> None:
    raise ApiError(
        f"{what}: text must not contain NUL characters or unpaired surrogates.",
        code="invalid_request",
        param=param or None,
    )

"""Request-log values fitted to their columns before they are queued (gateway.requestlog.writer).

Whatever a request carried must never make the database refuse its log row: a NUL byte in a
form field once made PostgreSQL refuse a batch, and the writer retried it forever while no later
request was logged (issue 14). So every value is fitted here, by the model's own metadata, to what
every backend stores: text without NUL or lone surrogates (each becomes U+FFFD) and cut to the
column's length; integers inside the column type's range (else NULL); JSON of plain types only,
with clean strings, finite numbers and a bounded depth.
"""

import math
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from gateway.api.parsers import UNSTORABLE

from .models import RequestLog

# NUL is refused by PostgreSQL text and jsonb; a lone surrogate cannot be encoded as UTF-8.
# The JSON parser refuses them in /v1 bodies; form fields and upstream text still carry them.
UNSTORABLE_CHARACTERS = UNSTORABLE
REPLACEMENT = "\ufffd"
JSON_MAX_DEPTH = 8
JSON_INTEGER_BOUND = 2**63  # bigint; a longer integer cannot even be printed past 4,300 digits

Cleaner = Callable[[Any], Any]


def storable_text(value: Any, max_length: int | None = None) -> str:
    """Text every backend stores: NUL and lone surrogates replaced, cut to the column."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if "\x00" in text or not text.isascii():  # the common case skips the regex
        text = UNSTORABLE_CHARACTERS.sub(REPLACEMENT, text)
    return text[:max_length] if max_length is not None else text


def storable_json(value: Any, depth: int = 0) -> Any:
    """A JSON value every backend stores (plain types, clean strings, finite numbers)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int):
        return value if -JSON_INTEGER_BOUND < value < JSON_INTEGER_BOUND else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= JSON_MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {storable_text(key): storable_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(item, depth + 1) for item in value]
    return storable_text(value)


def _integer_cleaner(field: models.Field) -> Cleaner:
    # The column type's portable range (SQLite would take more): the same rows on every backend.
    low, high = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
    fallback = None if field.null else max(low, 0)

    def clean(value: Any) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok else fallback

    return clean


def _cleaner_for(field: models.Field) -> Cleaner:
    if isinstance(field, models.ForeignKey | models.DateTimeField):
        return _as_is  # our own objects' keys and clock readings
    if isinstance(field, models.CharField):
        return partial(storable_text, max_length=field.max_length)
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField):
        return _integer_cleaner(field)
    if isinstance(field, models.JSONField):
        return storable_json
    raise TypeError(f"RequestLog.{field.name}: no storable form for {type(field).__name__}")


def _as_is(value: Any) -> Any:
    return value


@cache
def _cleaners() -> dict[str, tuple[str, Cleaner]]:
    """Field name -> (attribute name, cleaner), for every column of RequestLog."""
    return {
        field.name: (field.attname, _cleaner_for(field))
        for field in RequestLog._meta.concrete_fields
    }


def storable_request_id(request_id: str) -> str:
    return _cleaners()["id"][1](request_id)


def make_row_storable(row: RequestLog) -> None:
    """Fit every column value of the row in place."""
    for attname, clean in _cleaners().values():
        setattr(row, attname, clean(getattr(row, attname)))


def storable_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The fitted values of an UPDATE, keyed by field name."""
    cleaners = _cleaners()
    return {name: cleaners[name][1](value) for name, value in fields.items()}

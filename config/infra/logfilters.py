"""Log filters: the request id on every line, and secrets redacted from every line."""

import json
import logging
from contextvars import ContextVar
from typing import Any

from celery import current_task

from .redaction import redact

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

# Attributes every LogRecord has; anything else on a record came from `extra=` (JSON logs
# print those too, so they are redacted like the message).
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
}


_PLAIN_TYPES = (str, int, float, bool, type(None), dict, list, tuple)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (dict, list, tuple)):
        # Quotes are never replaced, so the JSON text stays valid after redaction.
        return json.loads(redact(json.dumps(value, default=str)))
    return value


class RedactMessageFilter(logging.Filter):
    """Redacts the message and text `extra=` values; leaves exc_info and objects (the request)
    for Django's error mails, whose body DEFAULT_EXCEPTION_REPORTER_FILTER masks."""

    stringify_objects = False

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for name in record.__dict__.keys() - _STANDARD_ATTRIBUTES:
            value = record.__dict__[name]
            if self.stringify_objects and not isinstance(value, _PLAIN_TYPES):
                value = str(value)  # e.g. Django's `request` extra: its repr holds the full URL
            record.__dict__[name] = _redact_value(value)
        return True


class RedactSecretsFilter(RedactMessageFilter):
    """Redacts the message, every `extra=` value and the rendered traceback (drops exc_info).

    Handlers run from the emitting logger up to the root, so the mail handler on `django` has
    used the record's objects before the root handler's filter turns them into text.
    """

    stringify_objects = True

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        super().filter(record)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestIdFilter(logging.Filter):
    """The request id on every line ("-" outside a request); inside a Celery task, its id too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        if current_task:
            record.task_id = current_task.request.id or "-"
        return True

"""Canary leak detector (TESTING.md §5.6): register secrets, run a flow, then scan every place a
secret could end up and name each place it was found.

Scanned: every log record of every logger at DEBUG (message, arguments and traceback, before
any redaction filter runs), every test-client response (status line, headers and body, streamed
bodies as they were read), every Celery task message sent, mail.outbox, the cache (locmem, or
the Redis keyspace when the cache is Redis), every column of every table (sessions decoded).
The stored provider-key column holds ciphertext and is scanned as well: plaintext there is a
leak too.
"""

import contextlib
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Task
from django.core import mail
from django.core.cache import cache
from django.http import HttpResponseBase
from django.test.client import Client

from tests.accounts.leaks import stored_places_containing


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is still scanned raw
            text = f"{record.msg} {record.args}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        self.texts.append((record.name, text))


class LeakDetector:
    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.logs = _Capture()
        self.responses: list[tuple[str, list[bytes]]] = []
        self.task_messages: list[tuple[str, str]] = []

    def register(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s)

    # ---- capture --------------------------------------------------------------------------
    def record_response(self, label: str, response: HttpResponseBase) -> None:
        head = f"{response.status_code}\n" + "\n".join(
            f"{name}: {value}" for name, value in response.items()
        )
        parts = [head.encode()]
        for cookie in response.cookies.values():
            parts.append(cookie.output().encode())
        self.responses.append((label, parts))
        if response.streaming:
            response.streaming_content = _tee(response.streaming_content, parts)
        else:
            parts.append(response.content)

    # ---- scanning -------------------------------------------------------------------------
    def places(self) -> list[str]:
        _flush_queued_writes()
        found: list[str] = []
        for secret in sorted(self.secrets):
            found += [f"{where}: {secret[:14]}…" for where in self._places_of(secret)]
        return found

    def _places_of(self, secret: str) -> Iterator[str]:
        raw = secret.encode()
        for name, text in self.logs.texts:
            if secret in text:
                yield f"log record of {name!r}: {text[:160]!r}"
        for label, parts in self.responses:
            if any(raw in part for part in parts):
                yield f"response to {label}"
        for name, message in self.task_messages:
            if secret in message:
                yield f"celery message to {name}"
        for index, message in enumerate(mail.outbox):
            if secret in str(message.message()):
                yield f"mail {index} ({message.subject[:60]})"
        yield from (f"cache {key}" for key in _cache_keys_containing(raw))
        yield from (f"database {where}" for where in stored_places_containing(secret))

    def assert_clean(self) -> None:
        leaks = self.places()
        assert not leaks, "secret found in:\n" + "\n".join(leaks)


def _flush_queued_writes() -> None:
    """Rows the gateway writes behind the request (the request log) must be scanned too."""
    from gateway.requestlog import services as requestlog

    flush = getattr(requestlog, "request_log_flush", None)
    if flush is not None:
        flush()


def _tee(chunks: Any, parts: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        parts.append(bytes(chunk))
        yield chunk


def _cache_keys_containing(raw: bytes) -> Iterator[str]:
    """Keys whose key or stored value contains `raw`: locmem's pickles or Redis' keyspace."""
    backend = getattr(cache, "_cache", None)
    if isinstance(backend, dict):  # locmem: key -> pickled value
        for key, value in list(backend.items()):
            text = key.encode() + b" " + bytes(value)
            with contextlib.suppress(Exception):  # the raw pickle was scanned already
                text += repr(pickle.loads(value)).encode()  # noqa: S301  (our own cache)
            if raw in text:
                yield key
        return
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:
        return
    redis = client(write=False)
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key)
        value = (redis.get(key) if kind == b"string" else redis.dump(key)) or b""
        if raw in key or raw in value:
            yield key.decode(errors="replace")


@pytest.fixture
def leak_detector() -> Iterator[LeakDetector]:
    """A LeakDetector wired into logging (all loggers, DEBUG) and the Django test client."""
    detector = LeakDetector()
    root = logging.getLogger()
    touched: list[tuple[logging.Logger, int]] = [(root, root.level)]
    root.setLevel(logging.DEBUG)
    root.handlers.insert(0, detector.logs)  # first: it sees records before any redaction
    extra_handlers: list[logging.Logger] = []
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            if logger.level > logging.DEBUG:
                touched.append((logger, logger.level))
                logger.setLevel(logging.DEBUG)
            if not logger.propagate:
                logger.handlers.insert(0, detector.logs)
                extra_handlers.append(logger)
    original_request = Client.request

    def recording_request(self: Client, **request: Any) -> HttpResponseBase:
        response = original_request(self, **request)
        label = f"{request.get('REQUEST_METHOD', '?')} {request.get('PATH_INFO', '?')}"
        detector.record_response(label, response)
        return response

    original_apply_async = Task.apply_async

    def recording_apply_async(self: Task, args: Any = None, kwargs: Any = None, **options: Any):
        detector.task_messages.append((self.name, repr((args, kwargs, options))))
        return original_apply_async(self, args, kwargs, **options)

    Client.request = recording_request  # type: ignore[method-assign]
    Task.apply_async = recording_apply_async  # type: ignore[method-assign]
    try:
        yield detector
    finally:
        Client.request = original_request  # type: ignore[method-assign]
        Task.apply_async = original_apply_async  # type: ignore[method-assign]
        root.removeHandler(detector.logs)
        for logger in extra_handlers:
            logger.removeHandler(detector.logs)
        for logger, level in touched:
            logger.setLevel(level)

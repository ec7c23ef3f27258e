"""SSE framing for /v1 streams, and a reader that lets a stream send keep-alives while it waits.

Each event is `data: <compact one-line JSON>\\n\\n`, no `event:` lines; the stream ends with
`data: [DONE]\\n\\n`. Keep-alives are SSE comments (`: keep-alive`), never `: ping`.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from catalog.models import CatalogModel
from config.infra.gevent_patch import gevent_patched
from gateway.api.chat_request import ChatRequest
from gateway.chat.normalize import ChunkNormalizer
from gateway.requestlog.services import Status
from gateway.routing.candidates import route_of
from gateway.routing.context import ChatContext, failure_reason, served_headers
from gateway.routing.cooldowns import route_record_failure
from providers.errors import ProviderError

logger = logging.getLogger(__name__)

SSE_DONE = b"data: [DONE]\n\n"
SSE_KEEPALIVE = b": keep-alive\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
QUEUE_SIZE = 64  # bounded: a slow client slows the upstream reader instead of growing memory
PUT_POLL_SECONDS = 0.25

_END = object()
# Rewrites a normalized chunk before it is sent; None drops it (gateway.chat.completions).
ChunkShape = Callable[[dict[str, Any]], dict[str, Any] | None]


def sse_event(data: dict[str, Any]) -> bytes:
    """One event: orjson writes compact UTF-8 bytes directly (no str, no second encode pass)."""
    return b"data: " + orjson.dumps(data) + b"\n\n"


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class KeepAliveReader:
    """Iterates `source` in a background thread; yields None after `interval` s of silence.

    The source is only ever touched by one thread at a time: the reader thread once started,
    the caller otherwise. `close()` asks the reader to stop; it closes the source (and so the
    upstream connection) right after its current read returns. With interval <= 0 no thread
    is used and nothing but source items is yielded. A stalled upstream is closed at its read
    timeout at the latest.

    Under the gevent worker the reader is a bare greenlet with a gevent queue, not a patched
    `threading.Thread` with a `queue.Queue` (three patched conditions): less memory and fewer
    switches per chunk for each of thousands of open streams (bench/README.md, "Gateway").
    """

    def __init__(self, source: Iterator[Any], interval: float) -> None:
        self._source = source
        self._interval = interval
        self._green = gevent_patched()
        if self._green:
            import gevent.event
            import gevent.queue

            self._queue: Any = gevent.queue.Queue(maxsize=QUEUE_SIZE)
            self._stop: Any = gevent.event.Event()
        else:
            self._queue = queue.Queue(maxsize=QUEUE_SIZE)
            self._stop = threading.Event()
        self._thread: Any = None  # the reader: a Thread, or a Greenlet under gevent

    def __iter__(self) -> Iterator[Any]:
        if self._interval <= 0:
            yield from self._source
            return
        if self._green:
            import gevent

            self._thread = gevent.spawn(self._read)
        else:
            self._thread = threading.Thread(target=self._read, name="sse-reader", daemon=True)
            self._thread.start()
        while True:
            try:
                item = self._queue.get(timeout=self._interval)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._thread is None:
            _close(self._source)

    def _read(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
            self._put(_END)
        except Exception as error:
            self._put(_Failure(error))
        finally:
            _close(self._source)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=PUT_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


def _close(source: Iterator[Any]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


class ChatFramer:
    """How a chat stream goes on the wire: chat.completion.chunk events, usage, [DONE].

    Another framer (gateway.responses) writes the same relay as other events; ChatStream
    keeps the fallback, keep-alive and logging rules for both.
    """

    def opened(self, stream: "ChatStream") -> Iterator[bytes]:
        return iter(())

    def chunk(self, stream: "ChatStream", chunk: dict[str, Any]) -> Iterator[bytes]:
        yield sse_event(chunk)

    def ended(self, stream: "ChatStream", usage: dict[str, Any]) -> Iterator[bytes]:
        if stream.request.include_usage:
            yield from self.chunk(stream, stream.opened.normalizer.chunk([], usage=usage))
        yield SSE_DONE

    def failed(self, stream: "ChatStream", reason: str, code: str) -> Iterator[bytes]:
        yield _error_event(reason, code, stream.ctx.request_id)
        yield SSE_DONE


class ShapedFramer(ChatFramer):
    """Chat's framing with each chunk rewritten for another route (gateway.chat.completions);
    a chunk the shape turns into None is not sent."""

    def __init__(self, shape: ChunkShape) -> None:
        self.shape = shape

    def chunk(self, stream: "ChatStream", chunk: dict[str, Any]) -> Iterator[bytes]:
        shaped = self.shape(chunk)
        if shaped is not None:
            yield sse_event(shaped)


@dataclass
class OpenedStream:
    """A candidate that produced content; `buffered` holds the chunks read up to it."""

    model: CatalogModel
    upstream: Generator[dict[str, Any], None, None]
    normalizer: ChunkNormalizer
    buffered: list[dict[str, Any]]


class ChatStream:
    """The SSE body of a committed chat stream: iterate it once; the server calls `close()`.

    After the first content an upstream failure ends the stream with one error event and
    [DONE] (logged `partial`), never another model's output. A client that goes away makes the
    server close this iterator: the upstream is closed and the row logged `client_disconnected`.
    """

    def __init__(
        self,
        ctx: ChatContext,
        request: ChatRequest,
        opened: OpenedStream,
        framer: ChatFramer | None = None,
    ) -> None:
        self.ctx, self.request, self.opened = ctx, request, opened
        self.framer = framer or ChatFramer()
        self.headers = {
            "Content-Type": "text/event-stream",
            **SSE_HEADERS,
            **served_headers(opened.model),
        }
        self._reader = KeepAliveReader(opened.upstream, settings.GATEWAY_KEEPALIVE_SECONDS)
        self._events = self._relay()
        self._started = False
        self._committed_at = time.monotonic()
        self._status, self._error_code = Status.CLIENT_DISCONNECTED, "client_disconnected"
        self._estimate: dict[str, int] | None = None

    def __iter__(self) -> "ChatStream":
        return self

    def __next__(self) -> bytes:
        self._started = True
        return next(self._events)

    def close(self) -> None:
        if self._started:
            self._events.close()
        else:  # never iterated: the generator's own cleanup would not run
            self._end()

    def _relay(self) -> Generator[bytes, None, None]:
        try:
            yield from self.framer.opened(self)
            for chunk in self.opened.buffered:
                yield from self.framer.chunk(self, chunk)
            yield from self._rest()
            self._status, self._error_code = Status.SUCCESS, ""
        except ProviderError as error:
            self._status, self._error_code = Status.PARTIAL, _error_code(error)
            self.ctx.record_attempt(self.opened.model, self._committed_at, error)
            route_record_failure(route_of(self.opened.model), error)
            yield from self.framer.failed(self, failure_reason(error), self._error_code)
        except Exception:
            logger.exception("chat stream failed")
            self._status, self._error_code = Status.ERROR, "server_error"
            yield from self.framer.failed(self, "internal error", "server_error")
        finally:
            self._end()

    def _rest(self) -> Iterator[bytes]:
        normalizer = self.opened.normalizer
        for raw in self._reader:
            if raw is None:
                yield SSE_KEEPALIVE
            elif (chunk := normalizer.feed(raw)) is not None:
                yield from self.framer.chunk(self, chunk)
        yield from self.framer.ended(self, self._usage())

    def _usage(self) -> dict[str, Any]:
        """The upstream's usage, else the tokens counted (the row is marked estimated)."""
        normalizer = self.opened.normalizer
        if normalizer.usage:
            return normalizer.usage
        if self._estimate is None:
            self._estimate = self.request.usage_estimate(normalizer.completion_texts)
        return self._estimate

    def _end(self) -> None:
        self._reader.close()
        self.ctx.finish(
            self._status,
            200,
            model=self.opened.model,
            usage=self._usage(),
            usage_estimated=not self.opened.normalizer.usage,
            error_code=self._error_code,
        )


def _error_code(error: ProviderError) -> str:
    return "upstream_timeout" if error.kind == "timeout" else "upstream_error"


def _error_event(reason: str, code: str, request_id: str) -> bytes:
    message = f"The stream failed after it started: {reason}"
    error = {"message": message, "type": "api_error", "code": code, "param": None}
    return sse_event({"error": {**error, "request_id": request_id}})

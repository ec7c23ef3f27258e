"""A small HTTP/1.1 load generator on asyncio streams (stdlib only): latency, TTFT, throughput.

Two shapes of load:
- `closed_loop`: N workers, each on its own keep-alive connection, sending requests back to back
  (latency percentiles and requests/s);
- `open_streams`: N SSE streams at once, one connection each (time to first token, total time,
  events received, optional early disconnects).

Standalone use (against any OpenAI-compatible server):
  python bench/load.py http://127.0.0.1:8000/v1/chat/completions --model m --key opk_live_…
      [--stream] [--concurrency 16] [--requests 2000]
"""

import argparse
import asyncio
import json
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


@dataclass
class Result:
    """One request as the client saw it; times in seconds from its start."""

    status: int = 0
    latency: float = 0.0
    ttft: float | None = None
    events: int = 0  # SSE data events before [DONE]
    done: bool = False  # saw data: [DONE]
    error: str = ""
    error_events: int = 0
    request_id: str = ""
    disconnected: bool = False  # the client hung up on purpose
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


def build_request(
    method: str,
    host: str,
    port: int,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> bytes:
    """The raw bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chat_request(
    host: str, port: int, path: str, model: str, *, key: str = "", stream: bool = False, **extra
) -> bytes:
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        **({"stream": True} if stream else {}),
        **extra,
    }
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return build_request(
        "POST", host, port, path, body=json.dumps(payload).encode(), headers=headers
    )


class Connection:
    """One client connection; requests on it are sequential (keep-alive)."""

    def __init__(self, host: str, port: int, *, source: str | None = None) -> None:
        self.host, self.port = host, port
        self.source = source  # a client address of its own, e.g. 127.0.0.2 on loopback
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host,
            self.port,
            limit=MAX_HEAD,
            local_addr=(self.source, 0) if self.source else None,
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def send(
        self, raw: bytes, *, stream: bool = False, disconnect_after: int | None = None
    ) -> Result:
        """Send one request and read its whole answer; reconnects when the server closed."""
        result = Result()
        started = time.perf_counter()
        try:
            if self.writer is None:
                await self.open()
            self.writer.write(raw)
            await self.read_response(result, started, stream, disconnect_after)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
            result.error = result.error or f"{type(error).__name__}: {error}"
            self.close()
        result.latency = time.perf_counter() - started
        return result

    async def read_response(
        self, result: Result, started: float, stream: bool, disconnect_after: int | None
    ) -> None:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        result.status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        result.request_id = headers.get("x-request-id", "")
        result.headers = headers
        sse = SSECounter(result, started) if stream and result.status == 200 else None
        body = bytearray()
        async for piece in self.body_pieces(headers):
            if sse is None:
                body += piece
                continue
            sse.feed(piece)
            if disconnect_after is not None and result.events >= disconnect_after:
                result.disconnected = True
                self.close()
                return
        result.body = bytes(body)
        if result.status != 200:
            result.error = f"HTTP {result.status}"
        elif stream and not result.done:
            result.error = "stream ended without [DONE]"
        if headers.get("connection", "").lower() == "close":
            self.close()

    async def body_pieces(self, headers: dict[str, str]):
        reader = self.reader
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")  # no trailers are sent by our servers
                    return
                data = await reader.readexactly(size + 2)
                yield data[:-2]
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length:
                yield await reader.readexactly(length)
        else:
            while piece := await reader.read(65536):
                yield piece
            self.close()


class SSECounter:
    """Counts `data:` events as they arrive; notes the first one (TTFT) and [DONE]."""

    def __init__(self, result: Result, started: float) -> None:
        self.result, self.started = result, started
        self.buffer = b""

    def feed(self, piece: bytes) -> None:
        self.buffer += piece
        *events, self.buffer = self.buffer.split(b"\n\n")
        for event in events:
            if not event.startswith(b"data:"):
                continue  # keep-alive comments
            if event.strip() == b"data: [DONE]":
                self.result.done = True
                continue
            if self.result.ttft is None:
                self.result.ttft = time.perf_counter() - self.started
            if event.startswith(b'data: {"error"'):
                self.result.error_events += 1
                self.result.error = "error event in stream"
            self.result.events += 1


async def closed_loop(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    concurrency: int,
    total: int,
) -> tuple[list[Result], float]:
    """`total` requests from `concurrency` keep-alive connections; (results, wall seconds)."""
    results: list[Result] = []
    issued = 0

    async def worker() -> None:
        nonlocal issued
        connection = Connection(host, port)
        try:
            while issued < total:
                issued += 1
                results.append(await connection.send(make_request(issued)))
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


async def open_streams(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    count: int,
    ramp_seconds: float = 0.0,
    disconnect: Callable[[int], int | None] = lambda i: None,
    timeout: float = 120.0,
    on_progress: Callable[[list[Result]], Awaitable[None]] | None = None,
) -> list[Result]:
    """`count` concurrent SSE streams, each on its own connection, started over `ramp_seconds`.

    `disconnect(i)` gives the number of events after which stream i hangs up (None: never).
    """

    async def one(index: int) -> Result:
        if ramp_seconds:
            await asyncio.sleep(ramp_seconds * index / count)
        connection = Connection(host, port)
        try:
            return await asyncio.wait_for(
                connection.send(
                    make_request(index), stream=True, disconnect_after=disconnect(index)
                ),
                timeout,
            )
        except TimeoutError:
            return Result(error="client timeout")
        finally:
            connection.close()

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def blocking_sequential(host: str, port: int, raw: bytes, count: int) -> list[Result]:
    """`count` requests one after another on one blocking keep-alive socket.

    For large bodies (the 4 MB model listing): asyncio's 256 KiB reads and flow control add
    several ms per request there, a plain socket with 1 MiB reads adds almost nothing.
    Content-Length answers only.
    """
    results = []
    with socket.create_connection((host, port)) as sock:
        for _ in range(count):
            result = Result()
            started = time.perf_counter()
            sock.sendall(raw)
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                piece = sock.recv(1 << 20)
                if not piece:
                    raise ConnectionError("the server closed the connection")
                buffer += piece
            head, _, body = buffer.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            result.status = int(status_line.split(" ", 2)[1])
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers["content-length"])
            chunks, received = [body], len(body)
            while received < length:
                piece = sock.recv(1 << 20)
                if not piece:
                    raise ConnectionError("the server closed the connection")
                chunks.append(piece)
                received += len(piece)
            result.body = b"".join(chunks)
            result.latency = time.perf_counter() - started
            if result.status != 200:
                result.error = f"HTTP {result.status}"
            results.append(result)
    return results


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (0-100); nan for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[max(int(pct * 10) - 1, 0)]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {percentile(ms, 50):8.2f} ms  p99 {percentile(ms, 99):8.2f} ms  n={len(ms)}"


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP/1.1 load for an OpenAI-compatible API")
    parser.add_argument("url")
    parser.add_argument("--model", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    def make(_: int) -> bytes:
        return chat_request(host, port, url.path, args.model, key=args.key, stream=args.stream)

    if args.stream:
        results = asyncio.run(open_streams(host, port, make, count=args.requests))
        ok = [r for r in results if r.ok]
        print(f"streams ok {len(ok)}/{len(results)}")
        print("ttft  ", summary_ms([r.ttft for r in ok if r.ttft is not None]))
        print("total ", summary_ms([r.latency for r in ok]))
    else:
        results, wall = asyncio.run(
            closed_loop(host, port, make, concurrency=args.concurrency, total=args.requests)
        )
        ok = [r for r in results if r.ok]
        print(f"ok {len(ok)}/{len(results)}  {len(results) / wall:.0f} req/s")
        print("latency", summary_ms([r.latency for r in ok]))


if __name__ == "__main__":
    main()

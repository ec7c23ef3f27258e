"""A fast OpenAI-compatible mock upstream for the gateway benchmark (stdlib asyncio, one process).

Routes: POST /v1/chat/completions (plain or `"stream": true`), GET /v1/models, GET /_stats,
POST /_reset. HTTP/1.1 keep-alive; streams use chunked transfer encoding.

The upstream model id tunes each call, so one mock serves every scenario:
`bench-c20-d50` streams 20 content chunks 50 ms apart; `flaky-c20-d50-f10` also fails exactly
every tenth call to that model (10 %) with a 500 before the first byte; `w5` waits 5 ms before a
non-streamed answer; `u1` reports usage counts past any integer column (2**64 prompt tokens: a
hostile upstream). Defaults come from the command line.

Usage: python bench/mock_upstream.py --port 0 [--chunks 20] [--delay-ms 50]
Prints `READY <port>` on stdout once listening.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass

MAX_HEADER_BYTES = 64 * 1024
OPTION = re.compile(r"(?:^|[-/_])([cdfuw])(\d+)(?=$|[-/_])")
HOSTILE_USAGE = {"prompt_tokens": 2**64, "completion_tokens": -1, "total_tokens": 2**40}
JSON_HEADERS = "Content-Type: application/json\r\n"


@dataclass
class Plan:
    """What one call does, from the defaults and the model id."""

    chunks: int
    delay: float
    fail_pct: int
    wait: float
    hostile_usage: bool = False


class MockUpstream:
    def __init__(self, chunks: int, delay_ms: float) -> None:
        self.default_chunks = chunks
        self.default_delay = delay_ms / 1000
        self.calls: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()

    # ---- connection loop ----------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["connections_total"] += 1
        self.stats["connections_open"] += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                method, path, headers = _parse_head(head)
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                keep = await self.route(method, path, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.stats["connections_open"] -= 1
            writer.close()

    async def route(
        self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must close."""
        self.stats["requests"] += 1
        path = path.split("?", 1)[0]
        if method == "POST" and path == "/v1/chat/completions":
            return await self.chat(body, writer)
        if method == "GET" and path == "/v1/models":
            return self.reply(writer, 200, _models_body())
        if method == "GET" and path == "/_stats":
            return self.reply(writer, 200, json.dumps(dict(self.stats)).encode())
        if method == "POST" and path == "/_reset":
            self.stats = Counter(connections_open=self.stats["connections_open"])
            self.calls.clear()
            return self.reply(writer, 200, b"{}")
        return self.reply(writer, 404, _error_body("not found"))

    def reply(self, writer: asyncio.StreamWriter, status: int, body: bytes) -> bool:
        reason = {200: "OK", 404: "Not Found", 400: "Bad Request", 500: "Internal Server Error"}
        writer.write(
            f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n{JSON_HEADERS}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return True

    # ---- chat -----------------------------------------------------------------------------
    def plan(self, model: str) -> Plan:
        options = {key: int(value) for key, value in OPTION.findall(model)}
        return Plan(
            chunks=max(options.get("c", self.default_chunks), 1),
            delay=options["d"] / 1000 if "d" in options else self.default_delay,
            fail_pct=min(options.get("f", 0), 100),
            wait=options.get("w", 0) / 1000,
            hostile_usage=bool(options.get("u")),
        )

    def should_fail(self, model: str, pct: int) -> bool:
        """Exactly pct % of the calls to one model fail, evenly spread (the 10th, 20th, ...)."""
        self.calls[model] += 1
        n = self.calls[model]
        return pct > 0 and (n * pct) // 100 != ((n - 1) * pct) // 100

    async def chat(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        try:
            payload = json.loads(body)
            model = str(payload["model"])
        except (ValueError, KeyError, TypeError):
            return self.reply(writer, 400, _error_body("a JSON body with a model is required"))
        plan = self.plan(model)
        if self.should_fail(model, plan.fail_pct):
            self.stats["failures_injected"] += 1
            return self.reply(writer, 500, _error_body("injected failure"))
        if payload.get("stream") is True:
            return await self.stream(writer, model, plan)
        if plan.wait:
            await asyncio.sleep(plan.wait)
        self.stats["completions"] += 1
        return self.reply(writer, 200, _completion_body(model, plan.hostile_usage))

    async def stream(self, writer: asyncio.StreamWriter, model: str, plan: Plan) -> bool:
        self.stats["streams_started"] += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        created = int(time.time())
        try:
            for index in range(plan.chunks):
                due = started + index * plan.delay
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                writer.write(_chunked(_sse(_chunk(model, created, index))))
                await writer.drain()
            writer.write(_chunked(_sse(_final_chunk(model, created, plan.chunks))))
            writer.write(_chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            self.stats["streams_aborted_by_peer"] += 1
            return False
        self.stats["streams_completed"] += 1
        return True


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _sse(data: dict) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _chunk(model: str, created: int, index: int) -> dict:
    delta = {"content": f"tok{index} "}
    if index == 0:
        delta["role"] = "assistant"
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


def _final_chunk(model: str, created: int, chunks: int) -> dict:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks},
    }


def _completion_body(model: str, hostile_usage: bool = False) -> bytes:
    usage = HOSTILE_USAGE if hostile_usage else {"prompt_tokens": 8, "completion_tokens": 5}
    return json.dumps(
        {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the mock."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"total_tokens": 13, **usage},
        },
        separators=(",", ":"),
    ).encode()


def _models_body() -> bytes:
    ids = ["bench-c20-d50", "bench-c30-d1000", "flaky-c20-d50-f10", "steady-c20-d50"]
    data = [{"id": i, "object": "model", "created": 0, "owned_by": "mock"} for i in ids]
    return json.dumps({"object": "list", "data": data}).encode()


def _error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "server_error"}}).encode()


def raise_fd_limit() -> int:
    """The soft open-files limit raised to the hard one (thousands of sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def exit_with_parent(parent_pid: int) -> None:
    """Stop when the process that started the mock is gone (a killed benchmark)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(1)
    raise SystemExit(0)


async def serve(host: str, port: int, chunks: int, delay_ms: float, parent_pid: int) -> None:
    mock = MockUpstream(chunks, delay_ms)
    server = await asyncio.start_server(
        mock.handle, host, port, backlog=8192, limit=MAX_HEADER_BYTES
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        if parent_pid:
            await asyncio.gather(server.serve_forever(), exit_with_parent(parent_pid))
        else:
            await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument(
        "--parent-pid", type=int, default=0, help="exit when this parent process is gone"
    )
    args = parser.parse_args()
    raise_fd_limit()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.chunks, args.delay_ms, args.parent_pid))


if __name__ == "__main__":
    main()

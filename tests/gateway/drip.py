"""A loopback provider that drips SSE chunks and records when its client goes away."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback_provider import LoopbackProvider


class DripProvider(LoopbackProvider):
    """`with DripProvider(interval=0.1) as drip:`; point a custom credential at `drip.base_url`.

    Streams a role chunk, then `count` content chunks `interval` seconds apart (with an extra
    `pause` after the first one), then a finish chunk and [DONE].
    """

    def __init__(self, *, interval: float = 0.1, count: int = 100, pause: float = 0.0) -> None:
        self.interval, self.count, self.pause = interval, count, pause
        self.requests: list[dict[str, Any]] = []
        self.disconnected = threading.Event()
        self.disconnected_at: float | None = None
        self.completed = threading.Event()
        self._serve()

    def chunks(self, model: str) -> list[dict[str, Any]]:
        base = {"id": "chatcmpl-drip", "object": "chat.completion.chunk", "created": 1}
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": f"tick{i} "} for i in range(self.count)]
        chunks = [
            {**base, "model": model, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
            for d in deltas
        ]
        finish = {"index": 0, "delta": {}, "finish_reason": "stop"}
        return [*chunks, {**base, "model": model, "choices": [finish]}]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        drip = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                drip.requests.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._drip(body.get("model", "drip"))
                except (BrokenPipeError, ConnectionResetError):
                    drip.disconnected_at = time.monotonic()
                    drip.disconnected.set()

            def _drip(self, model: str) -> None:
                for index, chunk in enumerate(drip.chunks(model)):
                    self._send(f"data: {json.dumps(chunk)}\n\n".encode())
                    time.sleep(drip.interval + (drip.pause if index == 1 else 0))
                self._send(b"data: [DONE]\n\n")
                self._send(b"")
                drip.completed.set()

            def _send(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler

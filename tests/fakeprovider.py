"""A local OpenAI-compatible provider on loopback, for live-server and browser tests.

It lists a text, a vision, an image and a speech model, streams chat answers word by word, draws
a PNG and speaks a short WAV. Every request is recorded so tests can check what reached it.
"""

import base64
import io
import json
import struct
import time
import wave
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback_provider import LoopbackProvider

MODELS = [
    {"id": "fake-chat", "object": "model", "created": 1700000000, "owned_by": "fake"},
    {
        "id": "fake-vision",
        "object": "model",
        "created": 1700000000,
        "owned_by": "fake",
        "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"]},
    },
    {
        "id": "fake-image",
        "object": "model",
        "created": 1700000000,
        "owned_by": "fake",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
    },
    {
        "id": "fake-tts",
        "object": "model",
        "created": 1700000000,
        "owned_by": "fake",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["speech"]},
    },
]


def tiny_png(rgb: tuple[int, int, int] = (36, 87, 214), size: int = 8) -> bytes:
    """A valid solid-colour PNG, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def tiny_wav(seconds: float = 0.3, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x10" * int(rate * seconds))
    return buffer.getvalue()


class FakeProvider(LoopbackProvider):
    """Start with `with FakeProvider() as fake:`; `fake.base_url` ends in /v1."""

    def __init__(self, answer: str = "Hello from the fake provider.", delay: float = 0.05) -> None:
        self.answer = answer
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self._serve()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(
                    {"method": "GET", "path": self.path, "headers": dict(self.headers)}
                )
                if self.path.rstrip("/").endswith("/models"):
                    self._json({"object": "list", "data": MODELS})
                else:
                    self._json({"error": {"message": "not found"}}, status=404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                if self.path.endswith("/chat/completions"):
                    self._chat(body)
                elif self.path.endswith("/images/generations"):
                    image = base64.b64encode(tiny_png()).decode()
                    self._json({"created": int(time.time()), "data": [{"b64_json": image}]})
                elif self.path.endswith("/audio/speech"):
                    self._bytes(tiny_wav(), "audio/wav")
                else:
                    self._json({"error": {"message": "not found"}}, status=404)

            def _chat(self, body: dict[str, Any]) -> None:
                model = body.get("model", "fake-chat")
                if not body.get("stream"):
                    self._json(_completion(model, fake.answer))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in _chunks(model, fake.answer):
                        self._send_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                        time.sleep(fake.delay)
                    self._send_chunk(b"data: [DONE]\n\n")
                    self._send_chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnects += 1

            def _send_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(self, data: Any, status: int = 200) -> None:
                self._bytes(json.dumps(data).encode(), "application/json", status)

            def _bytes(self, data: bytes, content_type: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": len(text.split()), "total_tokens": 5},
    }


def _chunks(model: str, text: str) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
    words = text.split(" ")
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for index, word in enumerate(words):
        piece = word if index == 0 else " " + word
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks

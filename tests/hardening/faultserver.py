"""A raw socket provider on 127.0.0.1 for faults `responses` cannot express (UP-*, STR-*).

Each connection's request is read (headers and Content-Length body), then `script(conn)`
writes whatever bytes, pauses, resets or lies the test wants. `disconnected` is set when a
write fails because the client went away.
"""

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

Script = Callable[["Connection"], None]
HOLD_SECONDS = 15.0


class Connection:
    def __init__(self, sock: socket.socket, server: "FaultServer") -> None:
        self.sock, self.server = sock, server

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.server.disconnected.set()
            raise

    def head(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def sse_head(self) -> None:
        self.head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})

    def chunk(self, data: bytes) -> None:
        self.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.chunk(f"data: {text}\n\n".encode())

    def end_chunks(self) -> None:
        self.send(b"0\r\n\r\n")

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.head(status, {"Content-Length": str(len(body)), **(headers or {})})
        self.send(body)

    def reset(self) -> None:
        """Close with SO_LINGER 0: the client sees a TCP RST, not a clean end."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def wait_until_stopped(self, interval: float = 0.05, ping: bytes | None = None) -> None:
        """Hold the connection (sending `ping` chunks if given) until the client or test ends.

        Gives up after HOLD_SECONDS, so a regression fails a timing assertion, never hangs.
        """
        give_up = time.monotonic() + HOLD_SECONDS
        while not self.server.stopping.is_set() and time.monotonic() < give_up:
            if ping is not None:
                self.chunk(ping)
            time.sleep(interval)


class FaultServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.disconnected = threading.Event()
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "FaultServer":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                piece = sock.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += sock.recv(65536)
            self.requests.append(json.loads(body) if body else {})
            self.script(Connection(sock, self))
        with contextlib.suppress(OSError):
            sock.close()


def content_chunk(text: str, model: str = "fault-chat", finish: str | None = None) -> dict:
    delta = {"content": text} if text else {}
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


ROLE_CHUNK = {
    "id": "chatcmpl-fault",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "fault-chat",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
}

"""A scriptable HTTP server on 127.0.0.1 for byte-level fault tests (drips, lies, redirects)."""

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hit:
    path: str
    headers: dict[str, str]


Respond = Callable[["LoopbackServer", BaseHTTPRequestHandler], None]


class LoopbackServer:
    """`with LoopbackServer(respond) as server:`; `respond(server, handler)` writes raw bytes."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]

    def url(self, path: str = "/image.png") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.respond(server, self)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> "LoopbackServer":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def reply(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> None:
    """A complete HTTP/1.1 response with a Content-Length, then the connection closes."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    handler.wfile.flush()
    handler.close_connection = True


def image_server(content: bytes, content_type: str = "image/png") -> LoopbackServer:
    return LoopbackServer(lambda _, h: reply(h, 200, {"Content-Type": content_type}, content))

"""A finished upstream stream returns its keep-alive connection to the pool (iter_stream)."""

import socket
import threading

import pytest

from providers.adapter import OpenAICompatibleAdapter
from providers.netguard import tenant_may_reach
from providers.registry import PROVIDERS
from providers.transport import http_pool_for

SSE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


class KeepAliveSSEServer:
    """HTTP/1.1 on 127.0.0.1: every POST gets one chunked SSE body; counts TCP connections."""

    def __init__(self, *, tail_delay: float = 0.0) -> None:
        self.tail_delay = tail_delay
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()

    def __enter__(self) -> "KeepAliveSSEServer":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                    + f"{len(SSE):x}\r\n".encode()
                    + SSE
                    + b"\r\n"
                )
                if self.tail_delay:
                    self.stopping.wait(self.tail_delay)
                conn.sendall(b"0\r\n\r\n")


def adapter_for_port(port: int) -> OpenAICompatibleAdapter:
    return OpenAICompatibleAdapter(PROVIDERS["custom"], base_url=f"http://127.0.0.1:{port}/v1")


@pytest.fixture(autouse=True)
def _fresh_session():
    http_pool_for("custom", tenant_may_reach).close()  # no pooled connection from another test
    yield
    http_pool_for("custom", tenant_may_reach).close()


def test_consecutive_streams_reuse_one_connection():
    with KeepAliveSSEServer() as server:
        adapter = adapter_for_port(server.port)
        for _ in range(3):
            chunks = list(adapter.chat_stream({"model": "m", "messages": []}))
            assert chunks[0]["choices"][0]["delta"]["content"] == "hi"

    assert server.connections == 1


def test_a_tail_slower_than_the_drain_only_costs_the_connection():
    with KeepAliveSSEServer(tail_delay=2.0) as server:
        adapter = adapter_for_port(server.port)
        for _ in range(2):
            chunks = list(adapter.chat_stream({"model": "m", "messages": []}))
            assert len(chunks) == 1

    assert server.connections == 2

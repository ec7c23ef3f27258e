"""Fixtures of the multi-process tests: a fake provider that can answer 429, and a stack that is
always stopped."""

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.fakeprovider import FakeProvider
from tests.scaleout.stack import Stack

RATE_LIMITED = "Rate limit reached for requests per minute. Please try again in 50s."


class LimitedFake(FakeProvider):
    """The fake provider; while `rate_limited` is set, chat answers 429 as a spent free tier whose
    minute resets in 50 s (longer than a request may be held waiting for it)."""

    rate_limited = False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake, base = self, super()._handler()

        class Handler(base):  # type: ignore[misc,valid-type]
            def _chat(self, body: dict[str, Any]) -> None:
                if fake.rate_limited:
                    self._json({"error": {"message": RATE_LIMITED}}, status=429)
                else:
                    super()._chat(body)

        return Handler

    def chat_calls(self) -> int:
        return sum(1 for r in self.requests if r["path"].endswith("/chat/completions"))


@pytest.fixture
def fake() -> Iterator[LimitedFake]:
    with LimitedFake(answer="Hello from the fake provider.", delay=0.0) as running:
        yield running


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    running = Stack(logs=tmp_path / "logs")
    try:
        yield running
    finally:
        running.stop()

"""Content negotiation for /v1: answer JSON (SSE for streams) whatever `Accept` asks for.

OpenAI's API ignores `Accept`, and clients rely on it: SSE libraries (fetch-event-source, for
one) send `Accept: text/event-stream` with a streamed chat request, which DRF's default
negotiation refused with 406. Request bodies are still matched to a parser by Content-Type.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class IgnoreAcceptNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

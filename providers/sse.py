"""An incremental Server-Sent Events parser (WHATWG rules) that tolerates any split of the bytes."""

import codecs
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str


class SSEParser:
    """Feed raw bytes in any pieces; get whole events out. Comments (`:` lines) are dropped."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[SSEEvent]:
        self._buffer += self._decoder.decode(chunk)
        yield from self._drain()

    def close(self) -> Iterator[SSEEvent]:
        """End of stream: an event not ended by a blank line is dropped, as the standard says.

        A lone CR held back as a possible half of CRLF is a line end after all.
        """
        events: list[SSEEvent] = []
        if self._buffer.endswith("\r"):
            self._buffer = self._buffer[:-1] + "\n"
            events = list(self._drain())
        self._buffer = ""
        self._data = []
        return iter(events)

    def _drain(self) -> Iterator[SSEEvent]:
        while True:
            index = _line_end(self._buffer)
            if index < 0:
                return
            line = self._buffer[:index]
            skip = 2 if self._buffer.startswith("\r\n", index) else 1
            self._buffer = self._buffer[index + skip :]
            event = self._line(line)
            if event is not None:
                yield event

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None


def _line_end(text: str) -> int:
    positions = [p for p in (text.find("\r"), text.find("\n")) if p >= 0]
    if not positions:
        return -1
    index = min(positions)
    # A trailing lone "\r" may be the first half of "\r\n": wait for the next piece.
    if text[index] == "\r" and index == len(text) - 1:
        return -1
    return index

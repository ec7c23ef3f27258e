"""Property tests (TESTING §5.7): the SSE parser under any re-chunking, and the parsers of
untrusted text (model ids, chat requests, forwarded image URLs, JSON bodies) never raising
anything but their domain error. The data-URL parser and the fetch guard have theirs in
tests/gateway (test_images.py, test_safe_fetch.py)."""

import io
import json

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from gateway.api.chat_request import parse_chat_request
from gateway.api.errors import ApiError
from gateway.api.parsers import SafeJSONParser
from gateway.url_guard import ImageFetchError, check_forwarded_url
from providers import parsing
from providers.sse import SSEEvent, SSEParser

# Data lines never contain a line break (that would end the line); anything else goes,
# multi-byte UTF-8 (2, 3 and 4 bytes) included.
LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
    max_size=30,
) | st.sampled_from(["é", "世界", "👋🏽", "[DONE]", '{"a": "ü"}', ""])
EVENT = st.tuples(
    st.sampled_from(["", "message", "error", "ping"]),
    st.lists(LINE_TEXT, min_size=1, max_size=4),
)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_streams(draw):
    """(wire bytes, expected events): random line endings, comments and field spacing."""
    events = draw(st.lists(EVENT, max_size=8))
    wire, expected = "", []

    def newline() -> str:
        # CR then LF is always one line end; a CR line end before an LF one is written CRLF
        ending = draw(NEWLINE)
        return "\r\n" if wire.endswith("\r") and ending.startswith("\n") else ending

    for name, lines in events:
        if draw(st.booleans()):
            wire += ":" + draw(LINE_TEXT)
            wire += newline()
        if name:
            wire += "event:" + draw(st.sampled_from(["", " "])) + name
            wire += newline()
        seen = []
        for line in lines:
            space = draw(st.sampled_from(["", " "]))
            wire += "data:" + space + line
            wire += newline()
            # one space after the colon is dropped, whether it was the separator or the data
            seen.append(line[1:] if not space and line.startswith(" ") else line)
        wire += newline()
        expected.append(SSEEvent(name or "message", "\n".join(seen)))
    return wire.encode(), expected


def feed_in_pieces(wire: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events, start = [], 0
    for cut in [*sorted(set(cuts)), len(wire)]:
        events.extend(parser.feed(wire[start:cut]))
        start = cut
    events.extend(parser.close())
    return events


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stream=sse_streams(), data=st.data())
def test_sse_events_are_the_same_however_the_bytes_are_split(stream, data):
    wire, expected = stream
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=12))

    whole = feed_in_pieces(wire, [])
    split = feed_in_pieces(wire, cuts)
    bytewise = feed_in_pieces(wire, list(range(len(wire))))

    assert split == whole
    assert bytewise == whole
    assert whole == expected


@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=10))
def test_the_sse_parser_takes_any_bytes_without_raising(wire, cuts):
    events = feed_in_pieces(wire, [c for c in cuts if c <= len(wire)])

    assert all(isinstance(e.data, str) and isinstance(e.event, str) for e in events)


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.one_of(st.text(max_size=400), ANY_JSON))
def test_the_model_id_normaliser_returns_a_safe_id_or_none(value):
    result = parsing.model_id(value)

    if result is not None:
        assert result == result.strip()
        assert ".." not in result
        assert not result.startswith("/")
        assert len(result) <= parsing.MAX_ID


MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "developer", "x", 1])},
    optional={
        "content": ANY_JSON
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "image_url", "audio"])},
                optional={
                    "text": ANY_JSON,
                    "image_url": st.fixed_dictionaries(
                        {"url": st.text(max_size=60) | st.just("http://127.0.0.1/")}
                    )
                    | ANY_JSON,
                },
            ),
            max_size=3,
        ),
        "tool_call_id": ANY_JSON,
        "name": ANY_JSON,
        "tool_calls": ANY_JSON,
    },
)
CHAT_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": ANY_JSON,
        "messages": st.lists(MESSAGE, max_size=3) | ANY_JSON,
        "temperature": ANY_JSON,
        "max_tokens": ANY_JSON | st.integers(),
        "stream": ANY_JSON,
        "stream_options": ANY_JSON,
        "stop": ANY_JSON,
        "tools": ANY_JSON,
        "tool_choice": ANY_JSON,
        "response_format": ANY_JSON,
        "provider": ANY_JSON,
        "models": ANY_JSON,
    },
)


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(CHAT_BODY, ANY_JSON))
def test_the_chat_request_parser_raises_only_api_errors(body):
    try:
        request = parse_chat_request(body)
    except ApiError as error:
        status = error.status_code
    else:
        assert request.messages
        return
    assert status == 400


@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda scheme, host, rest: f"{scheme}://{host}{rest}",
            st.sampled_from(["http", "https", "HTTP", "ftp", "file", ""]),
            st.one_of(
                st.sampled_from(["127.0.0.1", "[::1]", "10.0.0.1", "localhost", "example.com"]),
                st.text(max_size=30),
            ),
            st.text(max_size=30),
        ),
    )
)
def test_the_forwarded_url_check_raises_only_its_domain_error(url):
    try:
        check_forwarded_url(url)
    except ImageFetchError:
        return


@given(st.one_of(st.binary(max_size=300), ANY_JSON.map(lambda v: json.dumps(v).encode())))
def test_the_json_body_parser_raises_only_parse_or_api_errors(raw):
    try:
        SafeJSONParser().parse(io.BytesIO(raw), "application/json", {})
    except (ParseError, ApiError):
        return

"""The HTTP seam and shared parsing: redirects, 402/410, secret hygiene, junk tolerance."""

import logging

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers import parsing
from providers.errors import ProviderError, parse_retry_after
from providers.registry import PROVIDERS

from .conftest import CANARY, assert_key_in_header_only, fixture, make_adapter, register_stream

BASE = "https://api.groq.com/openai/v1"


def test_a_redirect_is_not_followed_and_the_key_never_reaches_the_target(http_mock):
    # only the first URL is registered: following the redirect would raise ConnectionError
    http_mock.get(f"{BASE}/models", status=302, headers={"Location": "https://evil.test/steal"})

    with pytest.raises(ProviderError) as caught:
        make_adapter("groq").list_models()

    assert caught.value.kind == "upstream"
    assert "redirect" in caught.value.message
    assert [call.request.url for call in http_mock.calls] == [f"{BASE}/models"]


@pytest.mark.parametrize("status", [402, 410])
def test_payment_required_and_gone_are_unavailable(status, chat_error):
    error = chat_error(make_adapter("groq"), status, {"error": {"message": "nope"}})

    assert (error.kind, error.status) == ("unavailable", status)


@pytest.mark.parametrize(
    ("slug", "body", "header", "seconds"),
    [
        ("groq", "groq/error_429.json", {"retry-after": "3"}, 3),
        ("openrouter", "openrouter/error_429_upstream_rate_limited.json", {"Retry-After": "7"}, 7),
    ],
)
def test_a_retry_after_header_beats_the_hint_in_the_body(chat_error, slug, body, header, seconds):
    error = chat_error(make_adapter(slug), 429, fixture(body), headers=header)

    assert error.retry_after == seconds


@pytest.mark.parametrize(
    ("slug", "model", "voice", "audio", "content_type"),
    [
        ("groq", "canopylabs/orpheus-v1-english", "troy", b"RIFFwav", "audio/wav"),
        ("openrouter", "deepgram/flux-tts:free", "flux-alexis-en", b"ID3audio", "audio/mpeg"),
    ],
)
def test_speech_goes_to_the_openai_compatible_endpoint(
    http_mock, slug, model, voice, audio, content_type
):
    url = f"{PROVIDERS[slug].base_url}/audio/speech"
    http_mock.post(url, body=audio, content_type=content_type)

    answer = make_adapter(slug).speech({"model": model, "input": "hi", "voice": voice})

    assert answer == (audio, content_type)
    assert_key_in_header_only(http_mock.calls[0])


ECHOING_BODIES = [
    (401, {"error": {"message": f"Invalid API Key {CANARY}"}}),
    (429, {"error": {"message": f"limit for key {CANARY}. Please try again in 2s"}}),
    (400, {"error": {"message": f"bad header Authorization: Bearer {CANARY}"}}),
    (500, {"detail": f"key={CANARY}"}),
    (404, {"errors": [{"code": 1, "message": f"route {CANARY}"}]}),
    (503, {"error": f"<html>{CANARY}</html>"}),
]


@pytest.mark.parametrize(("status", "body"), ECHOING_BODIES)
def test_canary_never_reaches_errors_or_logs(caplog, status, body, chat_error):
    caplog.set_level(logging.DEBUG)
    error = chat_error(make_adapter("groq"), status, body)

    assert CANARY not in str(error)
    assert CANARY not in error.message
    assert CANARY not in caplog.text


def test_canary_never_reaches_stream_errors(http_mock, caplog):
    caplog.set_level(logging.DEBUG)
    body = f'event: error\ndata: {{"error": {{"message": "key {CANARY} refused"}}}}\n\n'.encode()
    register_stream(http_mock, f"{BASE}/chat/completions", body)

    with pytest.raises(ProviderError) as caught:
        list(make_adapter("groq").chat_stream({"model": "m", "messages": []}))

    assert CANARY not in str(caught.value)
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (requests.ConnectTimeout(f"timeout {CANARY}"), "timeout"),
        (requests.ConnectionError(CANARY), "connection"),
    ],
)
def test_transport_failures_are_sanitized(http_mock, caplog, exception, kind):
    caplog.set_level(logging.DEBUG)
    http_mock.get(f"{BASE}/models", body=exception)

    with pytest.raises(ProviderError) as caught:
        make_adapter("groq").check()

    assert caught.value.kind == kind
    assert CANARY not in str(caught.value)
    assert CANARY not in caplog.text


def test_malformed_listing_json_is_a_provider_error(http_mock):
    http_mock.get(f"{BASE}/models", body=b"<html>oops</html>", content_type="text/html")

    with pytest.raises(ProviderError) as caught:
        make_adapter("groq").list_models()

    assert caught.value.kind == "invalid_response"


JUNK_ROWS = [
    "a string",
    None,
    {"id": 12},
    {"id": "x" * 400},
    {"id": "../../etc/passwd"},
    {"id": "ok-model", "context_window": -5, "max_completion_tokens": "lots"},
    {"id": "ok-model-2", "context_window": True, "active": "yes"},
    {"id": "ok-model-3", "context_window": 1e30, "input_modalities": "image"},
]


@pytest.mark.parametrize(
    "slug", ["groq", "openrouter", "mistral", "nvidia", "huggingface", "custom"]
)
def test_junk_rows_are_skipped_or_cleaned_never_raised(slug):
    models = make_adapter(slug).parse_rows(JUNK_ROWS)

    assert all(len(m.upstream_id) <= 250 and ".." not in m.upstream_id for m in models)
    assert all(m.context_length is None or m.context_length > 0 for m in models)


def test_huge_strings_are_cut():
    row = {"id": "big", "name": "n" * 5000, "description": "d" * 50000, "pricing": {"prompt": "0"}}

    (model,) = make_adapter("openrouter").parse_rows([{**row, "id": "big:free"}])

    assert len(model.name) == 200
    assert len(model.description) == 2000


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8192, 8192), ("262144", 262144), (8192.0, 8192), (0, None), (-1, None), (True, None),
     ("12abc", None), (None, None), (2**40, None), (float("nan"), None)],
)  # fmt: skip
def test_positive_int(value, expected):
    assert parsing.positive_int(value) == expected


def test_retry_after_sources():
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"x-ratelimit-reset-requests": "2m30s"}) == 150
    body = {"error": {"message": "Please try again in 9m38.016s. Visit"}}
    assert parse_retry_after({}, body) == pytest.approx(578.016)
    assert parse_retry_after({}, {"error": "text"}) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["id", "name", "architecture", "pricing", "context_length", "capabilities", "properties",
     "task", "supportedGenerationMethods", "providers", "show", "output_modalities", "active",
     "deprecation", "features", "type", "top_provider", "supported_voices"]
)  # fmt: skip
ROW = st.dictionaries(FIELDS, JSON, max_size=8) | JSON


@pytest.mark.parametrize("slug", sorted(PROVIDERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=5))
def test_parse_model_never_raises_on_arbitrary_json(slug, rows):
    adapter = make_adapter(slug, base_url="http://x.test/v1")
    # parse_model itself (not just parse_rows, which would swallow a crash) copes with junk
    models = [adapter.parse_model(row) for row in rows if isinstance(row, dict)]
    for model in filter(None, models):
        assert model.upstream_id
        assert len(model.upstream_id) <= 250
        assert model.category in {"text", "vision", "image", "speech"}
        assert len(model.name) <= 200
        assert len(model.description) <= 2000

"""Rate-limit hints: every header and body style, read on successes and failures alike.

Header names and value shapes are the documented ones (PROVIDERS.md: Groq's doc table, Cerebras'
`-requests-day` family, OpenRouter's epoch-ms `X-RateLimit-*`); bodies are the recorded 429s.
"""

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import responses

from providers.errors import ProviderError, parse_retry_after
from providers.ratelimits import (
    DAY,
    MINUTE,
    RateLimitHints,
    Window,
    read_rate_limits,
    take_answer_hints,
)

from .conftest import fixture, make_adapter

NOW = 1_780_000_000.0  # an injected clock: no test reads the real one


def at(seconds: float):
    """An absolute time `seconds` after NOW (approx: relative tolerance would be minutes)."""
    return pytest.approx(NOW + seconds, abs=1e-3)


GROQ_HEADERS = {
    "x-ratelimit-limit-requests": "1000",
    "x-ratelimit-limit-tokens": "8000",
    "x-ratelimit-remaining-requests": "987",
    "x-ratelimit-remaining-tokens": "7560",
    "x-ratelimit-reset-requests": "1m2.5s",
    "x-ratelimit-reset-tokens": "3.3s",
}
CEREBRAS_HEADERS = {
    "x-ratelimit-limit-requests-day": "14400",
    "x-ratelimit-remaining-requests-day": "14399",
    "x-ratelimit-reset-requests-day": "33011.38",
    "x-ratelimit-limit-tokens-minute": "60000",
    "x-ratelimit-remaining-tokens-minute": "60000",
    "x-ratelimit-reset-tokens-minute": "11.38",
}
OPENROUTER_DAY_HEADERS = {
    "X-RateLimit-Limit": "50",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": str(int((NOW + 7200) * 1000)),
}


@pytest.mark.parametrize(
    ("headers", "requests_window", "expected"),
    [
        (GROQ_HEADERS, DAY, {
            ("requests", DAY): Window(1000, 987, NOW + 62.5),
            ("tokens", MINUTE): Window(8000, 7560, NOW + 3.3),
        }),
        (GROQ_HEADERS, MINUTE, {  # OpenAI's convention: the requests family counts a minute
            ("requests", MINUTE): Window(1000, 987, NOW + 62.5),
            ("tokens", MINUTE): Window(8000, 7560, NOW + 3.3),
        }),
        (CEREBRAS_HEADERS, MINUTE, {
            ("requests", DAY): Window(14400, 14399, NOW + 33011.38),
            ("tokens", MINUTE): Window(60000, 60000, NOW + 11.38),
        }),
        (OPENROUTER_DAY_HEADERS, MINUTE, {("requests", DAY): Window(50, 0, NOW + 7200)}),
        ({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "19",
          "x-ratelimit-reset": str(int((NOW + 42) * 1000))}, MINUTE,
         {("requests", MINUTE): Window(20, 19, NOW + 42)}),
        ({"content-type": "application/json"}, MINUTE, {}),
        ({"x-ratelimit-remaining-requests": "banana"}, MINUTE, {}),
    ],
)  # fmt: skip
def test_header_windows_per_style(headers, requests_window, expected):
    hints = read_rate_limits(headers, requests_window=requests_window, now=NOW)

    assert hints.windows.keys() == expected.keys()
    for key, window in expected.items():
        got = hints.window(*key)
        assert (got.limit, got.remaining) == (window.limit, window.remaining)
        assert got.reset_at == pytest.approx(window.reset_at, abs=1e-3)


@pytest.mark.parametrize(
    ("headers", "body", "retry_in", "scope"),
    [
        ({"retry-after": "7"}, None, 7.0, None),
        ({"retry-after-ms": "1500"}, None, 1.5, None),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)},
         None, 30.0, None),
        ({"retry-after": "garbage"}, None, None, None),
        ({}, "gemini/error_429_quota_free_tier.json", 34.4, MINUTE),
        ({}, "groq/error_429_tpm_2026.json", 1.984999999, MINUTE),
        ({}, "groq/error_429.json", 50.597142857, MINUTE),
        ({}, "openrouter/error_429_free_models_per_day_high_balance.json", None, DAY),
        ({}, "openrouter/error_429_upstream_rate_limited.json", None, None),
        ({}, "mistral/error_429_rate_limited.json", None, None),
        ({}, "mistral/error_429_legacy.json", None, None),
    ],
)  # fmt: skip
def test_retry_hints_and_scope_per_style(headers, body, retry_in, scope):
    hints = read_rate_limits(headers, fixture(body) if body else None, now=NOW)

    expected_at = None if retry_in is None else at(retry_in)
    assert hints.retry_at == expected_at
    assert hints.scope == scope


def test_openrouter_429_body_headers_name_the_day_budget():
    """The classic free-models-per-day 429 carries its counters in error.metadata.headers."""
    body = {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000",
            "metadata": {"headers": OPENROUTER_DAY_HEADERS},
        }
    }
    hints = read_rate_limits({}, body, now=NOW)

    assert hints.window("requests", DAY) == Window(50, 0, at(7200))
    assert hints.scope == DAY
    assert hints.retry_after(NOW) == pytest.approx(7200)


def test_retry_after_prefers_an_explicit_hint_over_resets():
    hints = read_rate_limits({**GROQ_HEADERS, "retry-after": "2"}, now=NOW)

    assert hints.retry_after(NOW) == 2.0
    assert read_rate_limits(GROQ_HEADERS, now=NOW).retry_after(NOW) == pytest.approx(3.3)
    assert RateLimitHints().retry_after(NOW) is None
    assert not RateLimitHints()


def test_parse_retry_after_is_the_same_reader():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({}, fixture("gemini/error_429_quota_free_tier.json")) == (
        pytest.approx(34.4)
    )


def test_a_successful_answer_records_its_hints(http_mock):
    http_mock.add(
        responses.POST,
        "https://api.groq.com/openai/v1/chat/completions",
        json=fixture("groq/chat_completion.json"),
        headers=GROQ_HEADERS,
    )
    adapter = make_adapter("groq")

    adapter.chat(
        {"model": "llama-3.3-70b-versatile", "messages": [{"role": "user", "content": "hi"}]}
    )

    hints = take_answer_hints()
    window = hints.window("requests", DAY)
    assert (window.limit, window.remaining) == (1000, 987)
    assert hints.window("tokens", MINUTE).remaining == 7560
    assert not take_answer_hints()  # taken once


def test_a_failed_answer_carries_its_hints_on_the_error(http_mock):
    http_mock.add(
        responses.POST,
        "https://api.groq.com/openai/v1/chat/completions",
        json=fixture("groq/error_429_tpm_2026.json"),
        status=429,
        headers={**GROQ_HEADERS, "x-ratelimit-remaining-tokens": "0", "retry-after": "2"},
    )
    adapter = make_adapter("groq")

    with pytest.raises(ProviderError) as caught:
        adapter.chat({"model": "llama-3.3-70b-versatile", "messages": []})

    error = caught.value
    assert error.kind == "rate_limited"
    assert error.retry_after == pytest.approx(2.0, abs=0.5)
    assert error.hints.scope == MINUTE
    assert error.hints.window("tokens", MINUTE).remaining == 0
    assert take_answer_hints() is error.hints

"""What an upstream answer says about its rate limits: one reader for every style.

Read on every answer, successes included: Groq/OpenAI `x-ratelimit-{limit,remaining,reset}-
{requests,tokens}` (durations like `1m2.5s`; Groq's `requests` family counts a day, OpenAI's a
minute: the provider row says which), Cerebras' explicit `-requests-day`/`-tokens-minute`,
OpenRouter's `X-RateLimit-Limit/-Remaining/-Reset` (epoch ms; also inside 429 bodies'
`error.metadata.headers`), `retry-after`/`retry-after-ms` (seconds or an HTTP date), Gemini
`RetryInfo` and Groq's "try again in 4.77s". Resets are absolute epoch seconds so a hint stays
true while it waits in a shared cache.
"""

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from requests.structures import CaseInsensitiveDict

from . import parsing

MINUTE = "minute"
DAY = "day"

_TRY_AGAIN = re.compile(r"try again in ((?:[\d.]+(?:ms|h|m|s))+)", re.IGNORECASE)
_DURATION_PART = re.compile(r"([\d.]+)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Words in a 429 body that name the window which ran out (Gemini quotaId, Groq, OpenRouter).
_DAY_WORDS = re.compile(r"per.?day|perday|\brpd\b|\btpd\b|daily", re.IGNORECASE)
_MINUTE_WORDS = re.compile(r"per.?minute|perminute|\brpm\b|\btpm\b", re.IGNORECASE)
# A reset further away than this cannot be a minute window's.
MINUTE_RESET_HORIZON = 61.0


# The hints of the latest answer in this request's context (adapters are shared between
# requests, so not an adapter attribute); the router takes them after each call.
_latest: ContextVar["RateLimitHints | None"] = ContextVar("latest_rate_limit_hints", default=None)


@dataclass(frozen=True)
class Window:
    """One budget as the provider reported it; any field may be unknown."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds


@dataclass(frozen=True)
class RateLimitHints:
    """Everything one answer said about its limits, keyed by (unit, window)."""

    windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    retry_at: float | None = None  # epoch seconds: an explicit "come back then"
    scope: str | None = None  # MINUTE | DAY: which window a 429 body says ran out

    def window(self, unit: str, span: str) -> Window | None:
        return self.windows.get((unit, span))

    def retry_after(self, now: float) -> float | None:
        """Seconds until a call is allowed: the explicit hint, else the nearest reported reset."""
        if self.retry_at is not None:
            return max(self.retry_at - now, 0.0)
        resets = [w.reset_at for w in self.windows.values() if w.reset_at is not None]
        return max(min(resets) - now, 0.0) if resets else None

    def __bool__(self) -> bool:
        return bool(self.windows) or self.retry_at is not None or self.scope is not None


def read_rate_limits(
    headers: Any, body: Any = None, *, requests_window: str = MINUTE, now: float | None = None
) -> RateLimitHints:
    """The hints in one answer's headers and (error) body; empty when it says nothing."""
    now = time.time() if now is None else now
    headers = CaseInsensitiveDict(headers or {})
    windows = _suffixed_windows(headers, requests_window, now)
    error = parsing.mapping(body.get("error")) if isinstance(body, dict) else {}
    body_headers = parsing.mapping(parsing.mapping(error.get("metadata")).get("headers"))
    for source in (headers, _lower_keys(body_headers)):
        plain = _plain_window(source, now)
        if plain is not None:
            windows.setdefault(("requests", _span_of(plain, now)), plain)
    return RateLimitHints(
        windows=windows,
        retry_at=_retry_at(headers, error, now),
        scope=_scope_in(error),
    )


def remember_answer_hints(hints: "RateLimitHints") -> None:
    _latest.set(hints)


def take_answer_hints() -> "RateLimitHints":
    """The hints of the latest upstream answer in this context (once), empty when none."""
    hints = _latest.get()
    _latest.set(None)
    return hints or RateLimitHints()


def duration_seconds(value: str, now: float | None = None) -> float | None:
    """'4.77s', '2m30s', '120ms', '17', or an epoch in milliseconds (OpenRouter) or seconds."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        parts = _DURATION_PART.findall(value)
        if not parts:
            return None
        return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    now = time.time() if now is None else now
    if number > 1e12:  # epoch milliseconds
        return max(number / 1000 - now, 0.0)
    if number > 1e9:  # epoch seconds
        return max(number - now, 0.0)
    return max(number, 0.0)


# Header family suffix → (unit, window); the bare `requests`/`tokens` follow the provider row.
def _families(requests_window: str) -> dict[str, tuple[str, str]]:
    return {
        "requests": ("requests", requests_window),
        "tokens": ("tokens", MINUTE),
        "requests-minute": ("requests", MINUTE),
        "requests-day": ("requests", DAY),
        "tokens-minute": ("tokens", MINUTE),
        "tokens-day": ("tokens", DAY),
    }


def _suffixed_windows(
    headers: Any, requests_window: str, now: float
) -> dict[tuple[str, str], Window]:
    windows: dict[tuple[str, str], Window] = {}
    for suffix, key in _families(requests_window).items():
        window = _window(headers, f"-{suffix}", now)
        if window is not None:
            windows[key] = window
    return windows


def _plain_window(headers: Any, now: float) -> Window | None:
    return _window(headers, "", now)


def _window(headers: Any, suffix: str, now: float) -> Window | None:
    limit = parsing.positive_int(_int_text(headers.get(f"x-ratelimit-limit{suffix}")))
    remaining = _count(headers.get(f"x-ratelimit-remaining{suffix}"))
    reset = headers.get(f"x-ratelimit-reset{suffix}")
    seconds = duration_seconds(str(reset), now) if reset not in (None, "") else None
    if limit is None and remaining is None and seconds is None:
        return None
    return Window(limit, remaining, None if seconds is None else now + seconds)


def _span_of(window: Window, now: float) -> str:
    """OpenRouter's plain headers name no window: a far reset is a day's."""
    if window.reset_at is not None and window.reset_at - now > MINUTE_RESET_HORIZON:
        return DAY
    return MINUTE


def _retry_at(headers: Any, error: dict[str, Any], now: float) -> float | None:
    seconds = _retry_after_header(headers, now)
    if seconds is None:
        seconds = _retry_after_in_error(error)
    return None if seconds is None else now + seconds


def _retry_after_header(headers: Any, now: float) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
        except (TypeError, ValueError):
            return None


def _retry_after_in_error(error: dict[str, Any]) -> float | None:
    """Gemini RetryInfo, or Groq's "Please try again in 4.77s"."""
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        delay = isinstance(detail, dict) and detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            return duration_seconds(delay)
    message = error.get("message")
    match = _TRY_AGAIN.search(message) if isinstance(message, str) else None
    return duration_seconds(match.group(1)) if match else None


def _scope_in(error: dict[str, Any]) -> str | None:
    """Which window a 429 body says ran out; day wins (it names the longer wait)."""
    if not error:
        return None
    text = " ".join(
        str(part)
        for part in (error.get("message"), error.get("details"), error.get("metadata"))
        if part
    )
    if _DAY_WORDS.search(text):
        return DAY
    if _MINUTE_WORDS.search(text):
        return MINUTE
    return None


def _lower_keys(mapping: dict[str, Any]) -> dict[str, Any]:
    return {str(name).lower(): value for name, value in mapping.items()}


def _int_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _count(value: Any) -> int | None:
    """A remaining count: 0 is meaningful here (unlike a limit)."""
    if isinstance(value, str):
        value = value.strip()
    if value == 0 or value == "0":
        return 0
    return parsing.positive_int(value)

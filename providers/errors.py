"""Upstream failures: ProviderError, the HTTP status → kind table, retry hints, safe reasons.

Every message built here is sanitized: it never holds a key or raw upstream HTML.
"""

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from config.infra.redaction import redact

from . import parsing


class ProviderError(Exception):
    """An upstream failure, already sanitized: `message` never holds a key or raw upstream HTML.

    kind: auth | rate_limited | bad_request | not_found | upstream | timeout | connection |
          invalid_response | unavailable (402/410: the provider's free tier is gone) |
          unreadable (the stored key cannot be decrypted; see providers.encryption).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "upstream",
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class StatusKind(NamedTuple):
    kind: str
    prefix: str  # the message is "<prefix>: <upstream reason>"
    retryable: bool


AUTH_FAILED = StatusKind("auth", "authentication failed", True)
UPSTREAM_FAILED = StatusKind("upstream", "upstream error", True)
REJECTED = StatusKind("bad_request", "upstream rejected the request", False)
REDIRECTED = StatusKind("upstream", "upstream redirected; not followed", True)

# A non-2xx status the table does not name: 3xx REDIRECTED, 5xx UPSTREAM_FAILED, else REJECTED.
STATUS_KINDS: dict[int, StatusKind] = {
    401: AUTH_FAILED,
    403: AUTH_FAILED,
    402: StatusKind("unavailable", "payment required", True),
    404: StatusKind("not_found", "not found", True),
    408: UPSTREAM_FAILED,
    409: UPSTREAM_FAILED,
    410: StatusKind("unavailable", "gone (retired)", True),
    429: StatusKind("rate_limited", "rate limited", True),
}


def status_kind(status: int) -> StatusKind:
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if 300 <= status < 400:
        return REDIRECTED
    return UPSTREAM_FAILED if status >= 500 else REJECTED


def error_for_status(
    status: int, reason: str, *, auth: bool = False, retry_after: float | None = None
) -> ProviderError:
    """The ProviderError for a non-2xx answer; `reason` is already sanitized."""
    entry = AUTH_FAILED if auth else status_kind(status)
    message = entry.prefix if entry is REDIRECTED else f"{entry.prefix}: {reason}"
    return ProviderError(
        message,
        kind=entry.kind,
        status=status,
        retryable=entry.retryable,
        retry_after=retry_after if entry.kind == "rate_limited" else None,
    )


def is_auth_error(status: int, body: Any) -> bool:
    """401/403, or Gemini's 400 API_KEY_INVALID."""
    if status in (401, 403):
        return True
    return "API_KEY_INVALID" in json.dumps(body) if body is not None else False


def parse_retry_after(headers: Any, body: Any = None) -> float | None:
    """Seconds until the upstream allows another call, from headers or a Gemini RetryInfo body."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset"):
        value = headers.get(name)
        if value:
            seconds = duration_seconds(value)
            if seconds is not None:
                return seconds
    if isinstance(body, dict):
        return _retry_after_in_body(body)
    return None


_TRY_AGAIN = re.compile(r"try again in ((?:[\d.]+(?:ms|h|m|s))+)", re.IGNORECASE)
_DURATION_PART = re.compile(r"([\d.]+)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _retry_after_in_body(body: dict[str, Any]) -> float | None:
    """Gemini RetryInfo, OpenRouter metadata.headers, or Groq's "Please try again in 4.77s"."""
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        delay = isinstance(detail, dict) and detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            return duration_seconds(delay)
    headers = parsing.mapping(parsing.mapping(error.get("metadata")).get("headers"))
    for name, value in headers.items():
        if name.lower() == "x-ratelimit-reset" and isinstance(value, str | int | float):
            return duration_seconds(str(value))
    message = error.get("message")
    match = _TRY_AGAIN.search(message) if isinstance(message, str) else None
    return duration_seconds(match.group(1)) if match else None


def duration_seconds(value: str) -> float | None:
    """'4.77s', '2m30s', '120ms', '17', or an epoch in milliseconds (OpenRouter)."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        parts = _DURATION_PART.findall(value)
        if not parts:
            return None
        return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    if number > 1e12:  # epoch milliseconds
        return max(number / 1000 - time.time(), 0.0)
    if number > 1e9:  # epoch seconds
        return max(number - time.time(), 0.0)
    return max(number, 0.0)


def error_message(body: Any) -> str:
    """A short upstream reason; only used after `sanitize`."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        body = body["errors"][0]  # Cloudflare's v4 envelope: {"errors": [{"code", "message"}]}
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error.get("title") or "")
        if isinstance(error, str):
            return error
        return str(body.get("detail") or body.get("message") or "")
    return ""


def sanitize(text: str, *secrets: str) -> str:
    """Strip secrets and markup from upstream text and keep it short."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = redact(text)
    if "<" in text and ">" in text:
        return "upstream returned an HTML page"
    return " ".join(text.split())[:200]


def unexpected_listing() -> ProviderError:
    return ProviderError("model listing has an unexpected shape", kind="invalid_response")

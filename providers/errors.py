"""Upstream failures: ProviderError, the HTTP status → kind table, retry hints, safe reasons.

Every message built here is sanitized: it never holds a key or raw upstream HTML.
"""

import json
import time
from typing import Any, NamedTuple

from config.infra.redaction import redact

from .ratelimits import RateLimitHints, read_rate_limits


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
        hints: RateLimitHints | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        # What the failed answer said about the route's budgets (any status, not only 429).
        self.hints = hints


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
    status: int,
    reason: str,
    *,
    auth: bool = False,
    retry_after: float | None = None,
    hints: RateLimitHints | None = None,
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
        hints=hints,
    )


def is_auth_error(status: int, body: Any) -> bool:
    """401/403, or Gemini's 400 API_KEY_INVALID."""
    if status in (401, 403):
        return True
    return "API_KEY_INVALID" in json.dumps(body) if body is not None else False


def parse_retry_after(headers: Any, body: Any = None) -> float | None:
    """Seconds until the upstream allows another call (see providers.ratelimits)."""
    now = time.time()
    return read_rate_limits(headers, body, now=now).retry_after(now)


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

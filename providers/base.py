"""The adapter interface and the OpenAI-compatible adapter most providers share.

`_request` / `_stream` are the only places that call `requests`: explicit connect and read
timeouts, no redirects, keys only in headers, every failure mapped to `ProviderError`. Every new
connection goes only to an address providers.netguard allows: a base URL saved with a credential
(a custom provider) reaches public addresses and OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS; one the
operator set (the registry, OPENPROVIDER_BASE_URL_<SLUG>) reaches anything but link-local,
metadata, unspecified and multicast addresses. A custom provider's error text is never relayed:
the tenant sees the HTTP status and a reason class, not what a server on the network answered.
"""

import contextlib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import requests
import urllib3
from django.conf import settings

from . import classify, parsing
from .netguard import (
    AddressNotAllowed,
    GuardedHTTPAdapter,
    Policy,
    operator_may_reach,
    tenant_may_reach,
)
from .sse import SSEParser

if TYPE_CHECKING:
    from .registry import ProviderSpec

Payload = dict[str, Any]

TEXT, VISION, IMAGE, SPEECH = "text", "vision", "image", "speech"
CATEGORIES = (TEXT, VISION, IMAGE, SPEECH)
MAX_ERROR_BODY = 64 * 1024
READ_PIECE = 64 * 1024
# After `data: [DONE]` a few bytes (the chunked terminator) usually remain: reading them lets the
# connection go back to the pool instead of being closed. Bounded so a server that keeps talking
# after [DONE] costs at most this long before the connection is dropped as before.
DRAIN_MAX_PIECES = 4
DRAIN_TIMEOUT_SECONDS = 0.2
# Idle keep-alive connections kept per provider and process: a gevent worker may hold ~1,000
# concurrent streams to one provider (bench/README.md, "Upstream pool size").
POOL_MAXSIZE = 1024

logger = logging.getLogger(__name__)


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


@dataclass
class ModelInfo:
    """One model as a provider lists it, with the free verdict and the evidence for it."""

    upstream_id: str
    name: str = ""
    category: str = TEXT
    free: bool = False
    free_evidence: str = ""
    # Why a listed model is not free, when the listing says: parsing.PAID or
    # parsing.PRICE_UNREADABLE (a price that cannot be read is refused and counted by the sync).
    not_free_reason: str = ""
    context_length: int | None = None
    max_output_tokens: int | None = None
    capabilities: dict[str, bool] = field(default_factory=dict)
    description: str = ""
    voices: list[str] = field(default_factory=list)


_pools: dict[tuple[str, Policy], requests.adapters.HTTPAdapter] = {}
_pools_lock = threading.Lock()
# requests' Session defaults (User-Agent, Accept-Encoding, Accept, Connection), sent as before.
DEFAULT_HEADERS = dict(requests.utils.default_headers())
MAX_CACHED_URL = 512  # longer URLs (a prompt in the path) are prepared each time, not kept


def http_pool_for(
    provider: str, allows: Policy = operator_may_reach
) -> requests.adapters.HTTPAdapter:
    """One pooled transport per provider and address policy per process.

    Calls go straight to requests' HTTPAdapter, not through a Session: a Session's per-call
    settings merge, cookie jar and redirect machinery cost about as much CPU as the HTTP
    exchange itself on the gateway's hot path (bench/README.md, "What changed in this round"),
    and none of them is wanted here (no cookies kept between callers, no redirects, no
    environment proxies).
    """
    key = (provider, allows)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = GuardedHTTPAdapter(allows, pool_connections=4, pool_maxsize=POOL_MAXSIZE)
                _pools[key] = pool
    return pool


@functools.lru_cache(maxsize=2048)
def _prepared_url(url: str) -> str:
    """requests' URL preparation (parse, IDNA, quoting), once per distinct URL."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url


def prepare_request(
    method: str, url: str, headers: dict[str, str], *, params: Any = None, json: Any = None
) -> requests.PreparedRequest:
    """What Session.prepare_request builds for this call, minus cookies, auth and hooks."""
    prepared = requests.PreparedRequest()
    prepared.prepare_method(method)
    if params or len(url) > MAX_CACHED_URL:
        prepared.prepare_url(url, params)
    else:
        prepared.url = _prepared_url(url)
    prepared.prepare_headers({**DEFAULT_HEADERS, **headers})
    prepared.prepare_body(None, None, json)
    return prepared


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
            from email.utils import parsedate_to_datetime
            from time import time

            try:
                return max(parsedate_to_datetime(value).timestamp() - time(), 0.0)
            except (TypeError, ValueError):
                pass
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset"):
        value = headers.get(name)
        if value:
            seconds = _duration_seconds(value)
            if seconds is not None:
                return seconds
    if isinstance(body, dict):
        return _retry_after_in_body(body)
    return None


_TRY_AGAIN = re.compile(r"try again in ((?:[\d.]+(?:ms|h|m|s))+)", re.IGNORECASE)


def _retry_after_in_body(body: dict[str, Any]) -> float | None:
    """Gemini RetryInfo, OpenRouter metadata.headers, or Groq's "Please try again in 4.77s"."""
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") if isinstance(error.get("details"), list) else []:
        delay = isinstance(detail, dict) and detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            return _duration_seconds(delay)
    metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
    headers = metadata.get("headers") if isinstance(metadata.get("headers"), dict) else {}
    for name, value in headers.items():
        if name.lower() == "x-ratelimit-reset" and isinstance(value, str | int | float):
            return _duration_seconds(str(value))
    message = error.get("message")
    match = _TRY_AGAIN.search(message) if isinstance(message, str) else None
    return _duration_seconds(match.group(1)) if match else None


def _duration_seconds(value: str) -> float | None:
    """'4.77s', '2m30s', '120ms', '17', or an epoch in milliseconds (OpenRouter)."""
    import re
    from time import time

    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        total, matched = 0.0, False
        for amount, unit in re.findall(r"([\d.]+)(ms|h|m|s)", value):
            matched = True
            total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        return total if matched else None
    if number > 1e12:  # epoch milliseconds
        return max(number / 1000 - time(), 0.0)
    if number > 1e9:  # epoch seconds
        return max(number - time(), 0.0)
    return max(number, 0.0)


def _error_message(body: Any) -> str:
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
    from config.infra.redaction import redact

    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = redact(text)
    if "<" in text and ">" in text:
        return "upstream returned an HTML page"
    return " ".join(text.split())[:200]


class OpenAICompatibleAdapter:
    """Speaks the OpenAI wire format. Subclass only where a provider differs."""

    chat_path = "/chat/completions"
    models_path = "/models"
    check_path: str | None = None  # a cheap *authenticated* GET; defaults to models_path
    speech_path = "/audio/speech"
    images_path = "/images/generations"

    def __init__(
        self, spec: "ProviderSpec", *, api_key: str = "", base_url: str = "", account_id: str = ""
    ) -> None:
        self.spec = spec
        self.api_key = api_key
        self.account_id = account_id
        # A base URL from the credential is the tenant's choice, not the operator's.
        self.tenant_url = bool(base_url)
        self.base_url = (
            (base_url or spec.resolved_base_url())
            .rstrip("/")
            .format(account_id=account_id or "missing-account-id")
        )

    # ---- public surface -------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        """Every text / vision / image / speech model with its free verdict; other kinds dropped."""
        data = json_any(self._request("GET", self.models_path))
        rows = data.get("data") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise unexpected_listing()
        return self.parse_rows(rows)

    def parse_rows(self, rows: list[Any]) -> list[ModelInfo]:
        """parse_model over a listing; a row that is junk is skipped, never fatal."""
        models = []
        for raw in rows:
            try:
                info = self.parse_model(raw) if isinstance(raw, dict) else None
            except (TypeError, ValueError, AttributeError, LookupError, OverflowError):
                logger.warning("%s: skipped a model entry with an unexpected shape", self.spec.slug)
                continue
            if info is not None:
                models.append(info)
        return models

    def chat(self, payload: Payload) -> Payload:
        response = self._request("POST", self.chat_path, json=self.to_provider(payload))
        return self.from_provider(_json_body(response))

    def chat_stream(self, payload: Payload) -> Iterator[Payload]:
        """Yields upstream chunks as dicts; raises ProviderError for in-stream errors."""
        body = {**self.to_provider(payload), "stream": True}
        response = self._request("POST", self.chat_path, json=body, stream=True)
        yield from self.iter_stream(response)

    def check(self) -> None:
        """A cheap authenticated probe; raises ProviderError."""
        self._request("GET", self.check_path or self.models_path)

    def speech(self, payload: Payload) -> tuple[bytes, str]:
        response = self._request("POST", self.speech_path, json=payload)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def generate_image(self, payload: Payload) -> list[Payload]:
        data = _json_body(self._request("POST", self.images_path, json=payload))
        return list(data.get("data") or [])

    # ---- override points: pure, no I/O ------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def to_provider(self, payload: Payload) -> Payload:
        return payload

    def from_provider(self, data: Payload) -> Payload:
        return data

    def from_provider_chunk(self, chunk: Payload) -> Payload:
        return chunk

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """An OpenAI-style entry; free when the spec gives evidence that every model is free.

        Category from `architecture`/top-level modality lists when present (custom servers),
        otherwise from the shared name classifier; embeddings, guards, speech-to-text and the
        rest of the non-chat family are dropped.
        """
        upstream_id = parsing.model_id(raw.get("id"))
        if upstream_id is None:
            return None
        modal = parsing.mapping(raw.get("architecture")) or raw
        category = classify.category_of_modalities(
            upstream_id,
            parsing.lowered(modal.get("input_modalities")),
            parsing.lowered(modal.get("output_modalities")),
        )
        if category is None:
            return None
        return ModelInfo(
            upstream_id=upstream_id,
            name=parsing.text(raw.get("name")) or upstream_id[: parsing.MAX_NAME],
            category=category,
            free=bool(self.spec.free_evidence),
            free_evidence=self.spec.free_evidence,
            context_length=parsing.positive_int(raw.get("context_length")),
            capabilities=parsing.capabilities(category),
            description=parsing.description(raw.get("description")),
        )

    # ---- the HTTP seam ----------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        timeout = (
            settings.PROVIDER_CONNECT_TIMEOUT_SECONDS,
            settings.PROVIDER_READ_TIMEOUT_SECONDS,
        )
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        headers = {name: value for name, value in headers.items() if value is not None}
        streamed = kwargs.pop("stream", False)
        try:
            prepared = prepare_request(method, self.url(path), headers, **kwargs)
            allows = tenant_may_reach if self.tenant_url else operator_may_reach
            pool = http_pool_for(self.spec.slug, allows)
            response = pool.send(prepared, stream=True, timeout=timeout)
        except AddressNotAllowed:
            raise ProviderError(
                "upstream address is not allowed",
                kind="connection",
                retryable=True,
            ) from None
        except requests.Timeout:
            raise ProviderError("upstream timed out", kind="timeout", retryable=True) from None
        except requests.RequestException:
            raise ProviderError(
                "could not connect to upstream", kind="connection", retryable=True
            ) from None
        if response.status_code >= 300:
            raise self.error_for(response)
        if not streamed:
            _read_body(response)
        return response

    def error_for(self, response: requests.Response) -> ProviderError:
        """Map a non-2xx answer to a sanitized ProviderError (the response is consumed)."""
        status = response.status_code
        try:
            raw = response.raw.read(MAX_ERROR_BODY, decode_content=True) if response.raw else b""
            body: Any = json.loads(raw or response.content or b"null")
        except (ValueError, requests.RequestException, AttributeError):
            body = None
        finally:
            response.close()
        reason = self.upstream_reason(body) or f"HTTP {status}"
        if self.is_auth_error(status, body):
            return ProviderError(
                f"authentication failed: {reason}", kind="auth", status=status, retryable=True
            )
        if status == 429:
            return ProviderError(
                f"rate limited: {reason}",
                kind="rate_limited",
                status=status,
                retryable=True,
                retry_after=parse_retry_after(response.headers, body),
            )
        if status in (402, 410):
            what = "payment required" if status == 402 else "gone (retired)"
            return ProviderError(
                f"{what}: {reason}", kind="unavailable", status=status, retryable=True
            )
        if 300 <= status < 400:
            return ProviderError(
                "upstream redirected; not followed", kind="upstream", status=status, retryable=True
            )
        if status == 404:
            return ProviderError(
                f"not found: {reason}", kind="not_found", status=status, retryable=True
            )
        if status in (408, 409) or status >= 500:
            return ProviderError(
                f"upstream error: {reason}", kind="upstream", status=status, retryable=True
            )
        return ProviderError(
            f"upstream rejected the request: {reason}", kind="bad_request", status=status
        )

    def upstream_reason(self, body: Any) -> str:
        """The upstream's own short reason, sanitized; none from a custom provider's server,
        which may be any service on the network (its answer is never shown to the tenant)."""
        return "" if self.tenant_url else sanitize(_error_message(body), self.api_key)

    def is_auth_error(self, status: int, body: Any) -> bool:
        if status in (401, 403):
            return True
        return "API_KEY_INVALID" in json.dumps(body) if body is not None else False

    def iter_stream(self, response: requests.Response) -> Iterator[Payload]:
        """Parse an upstream SSE body; comments skipped, in-stream errors raised, [DONE] ends it."""
        parser = SSEParser()
        finished = False
        pieces = response.iter_content(chunk_size=None)
        # Each piece (a keep-alive comment too) resets the read timeout, so a stream that never
        # ends is bounded here: by a total deadline, and by the bytes read without an event.
        deadline = time.monotonic() + settings.PROVIDER_STREAM_MAX_SECONDS
        cap, pending = settings.PROVIDER_MAX_RESPONSE_BYTES, 0
        try:
            for piece in pieces:
                if time.monotonic() > deadline:
                    raise ProviderError(
                        "upstream stream exceeded the total deadline",
                        kind="timeout",
                        retryable=True,
                    )
                pending += len(piece)
                if pending > cap:
                    raise ProviderError(
                        "upstream stream event is too large",
                        kind="invalid_response",
                        retryable=True,
                    )
                for event in parser.feed(piece):
                    pending = 0
                    if event.data.strip() == "[DONE]":
                        _drain(response, pieces)
                        return
                    chunk = _parse_chunk(event.data)
                    if event.event == "error" or "error" in chunk:
                        raise ProviderError(
                            "upstream stream failed: "
                            + (self.upstream_reason(chunk) or "error event"),
                            kind="upstream",
                            retryable=True,
                        )
                    finished = finished or any(
                        isinstance(c, dict) and c.get("finish_reason")
                        for c in chunk.get("choices") or []
                    )
                    yield self.from_provider_chunk(chunk)
        except requests.RequestException as error:
            # iter_content reports a read timeout as a ConnectionError wrapping ReadTimeoutError
            if isinstance(error, requests.Timeout) or _is_read_timeout(error):
                raise ProviderError(
                    "upstream stream timed out", kind="timeout", retryable=True
                ) from None
            raise ProviderError(
                "upstream stream broke", kind="connection", retryable=True
            ) from None
        finally:
            response.close()
        if not finished:  # a clean EOF after a finish_reason is a complete answer
            raise ProviderError(
                "upstream stream ended early", kind="invalid_response", retryable=True
            )


def _read_body(response: requests.Response) -> None:
    """Read a whole body into `response.content`: at most PROVIDER_MAX_RESPONSE_BYTES once
    decoded (a gzip bomb stops at the cap) and within PROVIDER_STREAM_MAX_SECONDS (a server
    dripping bytes resets the read timeout with each one); read1 returns what has arrived."""
    cap = settings.PROVIDER_MAX_RESPONSE_BYTES
    deadline = time.monotonic() + settings.PROVIDER_STREAM_MAX_SECONDS
    body = bytearray()
    try:
        while True:
            piece = response.raw.read1(READ_PIECE, decode_content=True)
            if not piece:
                break
            body += piece
            if len(body) > cap:
                raise ProviderError(
                    "upstream answer is too large", kind="invalid_response", retryable=True
                )
            if time.monotonic() > deadline:
                raise ProviderError(
                    "upstream answer exceeded the total deadline", kind="timeout", retryable=True
                )
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        response.close()
        if isinstance(error, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            raise ProviderError("upstream timed out", kind="timeout", retryable=True) from None
        raise ProviderError(
            "upstream answer broke off", kind="connection", retryable=True
        ) from None
    except ProviderError:
        response.close()
        raise
    response._content = bytes(body)
    response._content_consumed = True
    response.close()


def _is_read_timeout(error: requests.RequestException) -> bool:
    return any(isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in error.args)


def _drain(response: requests.Response, pieces: Iterator[bytes]) -> None:
    """Read what follows [DONE] (briefly) so `close()` can return the connection to the pool."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is None:
        return
    previous = sock.gettimeout()
    # StopIteration: the body is consumed and the connection reusable. Anything else (a slow or
    # broken tail): close() drops the connection, as it did without the drain.
    with contextlib.suppress(Exception):
        sock.settimeout(DRAIN_TIMEOUT_SECONDS)
        for _ in range(DRAIN_MAX_PIECES):
            next(pieces)
    with contextlib.suppress(OSError):
        sock.settimeout(previous)


def _parse_chunk(data: str) -> Payload:
    """One stream event's JSON; orjson, because this runs for every chunk of every stream."""
    try:
        chunk = orjson.loads(data)
    except ValueError:
        raise ProviderError(
            "upstream sent malformed stream data", kind="invalid_response", retryable=True
        ) from None
    if not isinstance(chunk, dict):
        raise ProviderError(
            "upstream sent malformed stream data", kind="invalid_response", retryable=True
        )
    return chunk


def unexpected_listing() -> ProviderError:
    return ProviderError("model listing has an unexpected shape", kind="invalid_response")


def required_model(payload: Payload) -> str:
    """The payload's model id, validated for use in a URL path."""
    upstream_id = parsing.model_id(payload.get("model"))
    if upstream_id is None:
        raise ProviderError("a valid model id is required", kind="bad_request")
    return upstream_id


def json_any(response: requests.Response) -> Any:
    """The parsed JSON body, whatever its shape; junk becomes a ProviderError."""
    try:
        return response.json()
    except (ValueError, requests.RequestException):
        raise ProviderError(
            "upstream sent malformed JSON", kind="invalid_response", retryable=True
        ) from None


def json_body(response: requests.Response) -> Payload:
    """The parsed JSON object body; anything else becomes a ProviderError."""
    return _json_body(response)


def _json_body(response: requests.Response) -> Payload:
    data = json_any(response)
    if not isinstance(data, dict):
        raise ProviderError(
            "upstream sent an unexpected body", kind="invalid_response", retryable=True
        )
    return data

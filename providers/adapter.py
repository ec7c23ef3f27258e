"""The OpenAI-compatible adapter most providers share, and its pure override points.

HTTP goes through providers.transport; failures map through providers.errors. A custom
provider's error text is never relayed: the tenant sees the HTTP status and a reason class, not
what a server on the network answered.
"""

import contextlib
import logging
import time
from collections.abc import Generator
from typing import Any

import requests

from . import classify, params, parsing, transport
from .errors import (
    ProviderError,
    error_for_status,
    error_message,
    sanitize,
    unexpected_listing,
)
from .errors import is_auth_error as status_is_auth_error
from .netguard import operator_may_reach, tenant_may_reach
from .ratelimits import RateLimitHints, read_rate_limits, remember_answer_hints
from .spec import ProviderSpec
from .wire import EMBEDDING, TRANSCRIPTION, AudioUpload, ModelInfo, Payload

logger = logging.getLogger(__name__)
# Kept only where the registry row lists them: a listing may name embedding or speech-to-text
# models its provider serves on no OpenAI route (NVIDIA's speech recognition runs over gRPC).
OPT_IN_CATEGORIES = (EMBEDDING, TRANSCRIPTION)

RESPONSES_FINAL_EVENTS = ("response.completed", "response.incomplete")


class OpenAICompatibleAdapter:
    """Speaks the OpenAI wire format. Subclass only where a provider differs."""

    chat_path = "/chat/completions"
    models_path = "/models"
    check_path: str | None = None  # a cheap *authenticated* GET; defaults to models_path
    speech_path = "/audio/speech"
    responses_path = "/responses"  # used only where the registry row says the API serves it
    images_path = "/images/generations"
    embeddings_path = "/embeddings"
    transcriptions_path = "/audio/transcriptions"

    def __init__(
        self, spec: ProviderSpec, *, api_key: str = "", base_url: str = "", account_id: str = ""
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
        """Every model of a served category with its free verdict; other kinds dropped."""
        data = transport.json_any(self._request("GET", self.models_path))
        rows = data.get("data") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise unexpected_listing()
        return self.parse_rows(rows)

    def parse_rows(self, rows: list[Any]) -> list[ModelInfo]:
        """parse_model over a listing; a row that is junk is skipped, never fatal, and so is a
        model of a category the provider does not serve (OPT_IN_CATEGORIES)."""
        models = []
        for raw in rows:
            try:
                info = self.parse_model(raw) if isinstance(raw, dict) else None
            except (TypeError, ValueError, AttributeError, LookupError, OverflowError):
                logger.warning("%s: skipped a model entry with an unexpected shape", self.spec.slug)
                continue
            if info is not None and self.serves(info.category):
                models.append(info)
        return models

    def serves(self, category: str) -> bool:
        return category in self.spec.categories or category not in OPT_IN_CATEGORIES

    def chat(self, payload: Payload) -> Payload:
        response = self._request("POST", self.chat_path, json=self.to_provider(payload))
        return self.from_provider(transport.json_body(response))

    def chat_stream(self, payload: Payload) -> Generator[Payload, None, None]:
        """Yields upstream chunks as dicts; raises ProviderError for in-stream errors."""
        body = {**self.to_provider(payload), "stream": True}
        if self.spec.stream_usage:
            body["stream_options"] = {"include_usage": True}
        response = self._request("POST", self.chat_path, json=body, stream=True)
        yield from self.iter_stream(response)

    def responses(self, payload: Payload) -> Payload:
        """A Responses API call relayed untranslated (spec.serves_responses)."""
        return transport.json_body(self._request("POST", self.responses_path, json=payload))

    def responses_stream(self, payload: Payload) -> Generator[Payload, None, None]:
        """Yields the upstream's typed Responses events; an `error` or `response.failed`
        event raises ProviderError, as does an end before the final event."""
        body = {**payload, "stream": True}
        response = self._request("POST", self.responses_path, json=body, stream=True)
        with contextlib.closing(transport.sse_events(response)) as events:
            for event in events:
                if transport.is_done(event):
                    break
                data = transport.parse_chunk(event.data)
                kind = data.get("type")
                if event.event == "error" or kind in ("error", "response.failed"):
                    reason = self.upstream_reason(data.get("response", data)) or "error event"
                    raise ProviderError(
                        "upstream stream failed: " + reason, kind="upstream", retryable=True
                    )
                yield data
                if kind in RESPONSES_FINAL_EVENTS:
                    return
        raise ProviderError("upstream stream ended early", kind="invalid_response", retryable=True)

    def check(self) -> None:
        """A cheap authenticated probe; raises ProviderError."""
        self._request("GET", self.check_path or self.models_path)

    def speech(self, payload: Payload) -> tuple[bytes, str]:
        response = self._request("POST", self.speech_path, json=payload)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def generate_image(self, payload: Payload) -> list[Payload]:
        data = transport.json_body(self._request("POST", self.images_path, json=payload))
        return list(data.get("data") or [])

    def embeddings(self, payload: Payload) -> Payload:
        """OpenAI's embeddings call: {model, input[, dimensions]} -> {data: [{embedding}]}."""
        return transport.json_body(self._request("POST", self.embeddings_path, json=payload))

    def transcribe(self, payload: Payload, audio: AudioUpload) -> Payload:
        """OpenAI's multipart transcription call; `payload` holds the form fields (model,
        response_format json or verbose_json, language, prompt, temperature)."""
        fields = {name: str(value) for name, value in payload.items() if value is not None}
        files = {"file": (audio.filename, audio.content, audio.content_type)}
        response = self._request("POST", self.transcriptions_path, data=fields, files=files)
        return transport.json_body(response)

    # ---- override points: pure, no I/O ------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def to_provider(self, payload: Payload) -> Payload:
        """The OpenAI parameters mapped to what this provider honours (providers.params)."""
        try:
            return params.map_params(self.spec.slug, payload)
        except params.UnsupportedParameter as refused:
            raise ProviderError(
                f"unsupported parameter: {refused.param}", kind="bad_request", status=400
            ) from None

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

    def upstream_reason(self, body: Any) -> str:
        """The upstream's own short reason, sanitized; none from a custom provider's server,
        which may be any service on the network (its answer is never shown to the tenant)."""
        return "" if self.tenant_url else sanitize(error_message(body), self.api_key)

    def is_auth_error(self, status: int, body: Any) -> bool:
        return status_is_auth_error(status, body)

    # ---- calls, through providers.transport ------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: dict[str, str | None] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One upstream call: a non-2xx answer raises its ProviderError; unless `stream`, the
        body is read (bounded) before this returns."""
        merged = {**self.headers(), **(headers or {})}
        sent = {name: value for name, value in merged.items() if value is not None}
        allows = tenant_may_reach if self.tenant_url else operator_may_reach
        pool = transport.http_pool_for(self.spec.slug, allows)
        response = transport.send(
            method,
            self.url(path),
            sent,
            pool=pool,
            params=params,
            json=json,
            data=data,
            files=files,
        )
        remember_answer_hints(self.read_rate_limits(response.headers))
        if response.status_code >= 300:
            raise self.error_for(response)
        if not stream:
            transport.read_body(response)
        return response

    def error_for(self, response: requests.Response) -> ProviderError:
        """Map a non-2xx answer to a sanitized ProviderError (the response is consumed)."""
        status = response.status_code
        body = transport.read_error_body(response)
        now = time.time()
        hints = self.read_rate_limits(response.headers, body, now=now)
        remember_answer_hints(hints)
        return error_for_status(
            status,
            self.upstream_reason(body) or f"HTTP {status}",
            auth=self.is_auth_error(status, body),
            retry_after=hints.retry_after(now) if status == 429 else None,
            hints=hints,
        )

    def read_rate_limits(
        self, headers: Any, body: Any = None, *, now: float | None = None
    ) -> RateLimitHints:
        window = self.spec.requests_header_window
        return read_rate_limits(headers, body, requests_window=window, now=now)

    def iter_stream(self, response: requests.Response) -> Generator[Payload, None, None]:
        """Parse an upstream SSE body; in-stream errors raised, [DONE] ends it."""
        finished = False
        with contextlib.closing(transport.sse_events(response)) as events:
            for event in events:
                if transport.is_done(event):
                    return
                chunk = transport.parse_chunk(event.data)
                if event.event == "error" or "error" in chunk:
                    raise ProviderError(
                        "upstream stream failed: " + (self.upstream_reason(chunk) or "error event"),
                        kind="upstream",
                        retryable=True,
                    )
                finished = finished or any(
                    isinstance(c, dict) and c.get("finish_reason")
                    for c in chunk.get("choices") or []
                )
                yield self.from_provider_chunk(chunk)
        if not finished:  # a clean EOF after a finish_reason is a complete answer
            raise ProviderError(
                "upstream stream ended early", kind="invalid_response", retryable=True
            )


def required_model(payload: Payload) -> str:
    """The payload's model id, validated for use in a URL path."""
    upstream_id = parsing.model_id(payload.get("model"))
    if upstream_id is None:
        raise ProviderError("a valid model id is required", kind="bad_request")
    return upstream_id

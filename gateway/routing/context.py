"""One chat request in flight: its ids, clocks, attempts and the final request-log write."""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError

from catalog.models import CatalogModel
from gateway import metrics
from gateway.requestlog.services import LogOutcome, request_log_finish
from providers.errors import ProviderError, sanitize

PUBLIC_ATTEMPT_KEYS = ("provider", "model", "status", "reason")

logger = logging.getLogger(__name__)


@dataclass
class ChatContext:
    request_id: str
    started: float = field(default_factory=time.monotonic)
    created: int = field(default_factory=lambda: int(time.time()))
    attempts: list[dict[str, Any]] = field(default_factory=list)
    ttft_ms: int | None = None
    finished: bool = False

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def record_attempt(
        self,
        model: CatalogModel,
        began: float,
        error: ProviderError | None = None,
    ) -> None:
        self.attempts.append(
            {
                "provider": model.credential.name,
                "model": model.public_id,
                "status": error.kind if error else "ok",
                "http_status": error.status if error else None,
                "reason": failure_reason(error) if error else "",
                "ms": int((time.monotonic() - began) * 1000),
            }
        )

    def record_hold(self, seconds: float, *, served: bool) -> None:
        """The wait for a cooling route, logged with the attempts (once per request)."""
        self.attempts.append(
            {
                "provider": "",
                "model": "",
                "status": metrics.HELD_STATUS,
                "http_status": None,
                "reason": f"waited {seconds:.1f} s for a route to free up",
                "ms": int(seconds * 1000),
            }
        )
        metrics.record_held(seconds, served=served)

    def public_attempts(self) -> list[dict[str, Any]]:
        """What an error envelope may show: no timings, nothing secret."""
        return [{key: a[key] for key in PUBLIC_ATTEMPT_KEYS} for a in self.attempts]

    def finish(
        self,
        status: str,
        http_status: int,
        *,
        model: CatalogModel | None = None,
        usage: dict[str, Any] | None = None,
        usage_estimated: bool = False,
        error_code: str = "",
    ) -> None:
        """The one UPDATE of the request-log row; later calls are ignored.

        A failed write is logged, never raised: the answer may already be on its way.
        """
        if self.finished:
            return
        self.finished = True
        outcome = LogOutcome(
            status=status,
            http_status=http_status,
            error_code=error_code,
            served_model=model.public_id if model else "",
            provider=model.credential.name if model else "",
            provider_slug=model.provider if model else "",
            attempts=self.attempts,
            latency_ms=self.elapsed_ms(),
            ttft_ms=self.ttft_ms,
            usage=usage,
            usage_estimated=usage_estimated,
        )
        try:
            request_log_finish(self.request_id, outcome)
        except DatabaseError:
            logger.exception("could not finalize the request log row")


def failure_reason(error: ProviderError) -> str:
    """A sanitized, short reason; a provider's words about its own key are never relayed."""
    if error.kind == "auth":
        return "the provider rejected its credential"
    return sanitize(error.message)


def served_headers(model: CatalogModel) -> dict[str, str]:
    return {
        "x-openprovider-model": model.public_id,
        "x-openprovider-provider": model.credential.name,
    }

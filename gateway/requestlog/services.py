"""The request log: one row per request, queued when it starts, finalized once when it ends.

The writes go through gateway.requestlog.writer (write-behind, batched, flushed on exit); a request
shorter than the flush interval costs one INSERT. Values need no trimming
here: the writer fits each one to its column (gateway/storable.py). Prompts and completions are
never written here.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import ApiKey, Workspace
from gateway import metrics
from gateway.models import RequestLog
from gateway.requestlog.writer import writer

Status = RequestLog.Status


@dataclass
class LogOutcome:
    """What the final UPDATE records."""

    status: str
    http_status: int
    error_code: str = ""
    served_model: str = ""
    provider: str = ""
    provider_slug: str = ""  # registry slug, a bounded metrics label
    attempts: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: int | None = None
    ttft_ms: int | None = None
    usage: dict[str, Any] | None = None
    usage_estimated: bool = False  # counted by the gateway: the upstream reported no usage


def request_log_start(
    *,
    request_id: str,
    workspace: Workspace,
    api_key: ApiKey | None,
    endpoint: str,
    requested_model: str,
    streamed: bool,
    source: str = "api",
) -> RequestLog:
    row = RequestLog(
        id=request_id,
        workspace=workspace,
        api_key=api_key,
        source=source,
        endpoint=endpoint,
        requested_model=requested_model,
        streamed=streamed,
        created_at=timezone.now(),
    )
    writer.insert(row)
    return row


def request_log_finish(request_id: str, outcome: LogOutcome) -> None:
    """Finalize the row (queued; written with its INSERT when that is still queued too)."""
    usage = outcome.usage or {}
    fields = dict(
        status=outcome.status,
        http_status=outcome.http_status,
        error_code=outcome.error_code,
        served_model=outcome.served_model,
        provider=outcome.provider,
        attempts=outcome.attempts,
        latency_ms=outcome.latency_ms,
        ttft_ms=outcome.ttft_ms,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        usage_estimated=outcome.usage_estimated and bool(usage),
        finished_at=timezone.now(),
    )
    writer.update(request_id, fields)
    metrics.record_request(outcome)


def request_log_flush() -> bool:
    """Write every queued row now (tests, lookups); False if the database was unavailable."""
    return writer.flush()


def request_log_drain() -> bool:
    """Before the process exits: write every queued row, retrying until REQUEST_LOG_EXIT_SECONDS;
    what could not be written is logged. False if something was left."""
    return writer.drain(settings.REQUEST_LOG_EXIT_SECONDS)


def request_log_reap_stale() -> int:
    """Mark rows left in_progress (a killed worker) as aborted; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.GATEWAY_TOTAL_DEADLINE_SECONDS * 2)
    return RequestLog.objects.filter(status=Status.IN_PROGRESS, created_at__lt=cutoff).update(
        status=Status.ABORTED, finished_at=timezone.now()
    )


def request_log_get(*, workspace: Workspace, request_id: str) -> RequestLog | None:
    if writer.is_pending(request_id):  # asked right after the answer: write it first
        writer.flush()
    return RequestLog.objects.filter(workspace=workspace, pk=request_id).first()


def request_log_as_dict(log: RequestLog) -> dict[str, Any]:
    """The /v1/generation view of a row."""
    return {
        "id": log.id,
        "object": "generation",
        "created": int(log.created_at.timestamp()),
        "finished": int(log.finished_at.timestamp()) if log.finished_at else None,
        "endpoint": log.endpoint,
        "source": log.source,
        "requested_model": log.requested_model,
        "model": log.served_model or None,
        "provider": log.provider or None,
        "status": log.status,
        "http_status": log.http_status,
        "error_code": log.error_code or None,
        "streamed": log.streamed,
        "latency_ms": log.latency_ms,
        "ttft_ms": log.ttft_ms,
        "usage": {
            "prompt_tokens": log.prompt_tokens,
            "completion_tokens": log.completion_tokens,
            "total_tokens": log.total_tokens,
        },
        "usage_estimated": log.usage_estimated,
        "attempts": log.attempts,
    }

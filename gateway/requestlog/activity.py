"""A workspace's own requests, newest first, for the Activity page: each with its outcome and the
fallback trace (every upstream attempt: model, provider, status and the short reason)."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Workspace
from gateway.models import RequestLog

ACTIVITY_FIELDS = (
    "id",
    "created_at",
    "source",
    "endpoint",
    "requested_model",
    "served_model",
    "provider",
    "status",
    "http_status",
    "error_code",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "attempts",
)
TRACE_KEYS = ("model", "provider", "status", "reason")  # no timings: as the error envelope


@dataclass(frozen=True)
class Attempt:
    model: str
    provider: str
    status: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def activity_logs(
    *, workspace: Workspace, model: str = "", status: str = ""
) -> QuerySet[RequestLog]:
    """The workspace's requests, newest first, optionally of one model (served, or asked for
    when none served it) and one status."""
    logs = RequestLog.objects.filter(workspace=workspace).only(*ACTIVITY_FIELDS)
    if model:
        logs = logs.filter(Q(served_model=model) | Q(requested_model=model))
    if status in RequestLog.Status.values:
        logs = logs.filter(status=status)
    return logs.order_by("-created_at", "-id")


def activity_trace(log: RequestLog) -> list[Attempt]:
    """The request's upstream attempts in order (a wait for a cooling route included)."""
    return [_attempt(a) for a in log.attempts or [] if isinstance(a, dict)]


def _attempt(raw: dict[str, Any]) -> Attempt:
    values = {key: str(raw.get(key) or "") for key in TRACE_KEYS}
    return Attempt(**values)


def activity_models(*, workspace: Workspace) -> list[str]:
    """The models the workspace's requests asked for or were served by, for the filter."""
    logs = RequestLog.objects.filter(workspace=workspace).order_by()
    served = logs.exclude(served_model="").values_list("served_model", flat=True).distinct()
    asked = logs.exclude(requested_model="").values_list("requested_model", flat=True).distinct()
    return sorted(set(served) | set(asked))

"""Usage of a workspace from its request log: per day, per model and provider, and in total
(requests, errors and tokens)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import Workspace
from gateway.models import RequestLog

PERIODS = (7, 30)
ERROR_STATUSES = (
    RequestLog.Status.ERROR,
    RequestLog.Status.PARTIAL,
    RequestLog.Status.ABORTED,
)
ERRORS = Count("id", filter=Q(status__in=ERROR_STATUSES))
ESTIMATED = Count("id", filter=Q(usage_estimated=True))
# A provider that reports only prompt and completion tokens still counts in the total.
TOKENS = Coalesce("total_tokens", Coalesce("prompt_tokens", 0) + Coalesce("completion_tokens", 0))


@dataclass(frozen=True)
class DayUsage:
    day: date
    requests: int
    errors: int
    avg_latency_ms: int | None
    tokens: int = 0


@dataclass(frozen=True)
class UsageTotals:
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class RouteUsage:
    model: str
    provider: str
    requests: int
    errors: int
    avg_latency_ms: int | None
    tokens: int = 0
    estimated: int = 0  # requests whose tokens the gateway counted (no upstream usage)


def _first_day(days: int) -> date:
    return timezone.localdate() - timedelta(days=days - 1)


def usage_logs(
    *, workspace: Workspace, days: int, model: str = "", provider: str = ""
) -> QuerySet[RequestLog]:
    """The workspace's log rows of the last `days` days (today included), optionally narrowed."""
    logs = RequestLog.objects.filter(workspace=workspace, created_at__date__gte=_first_day(days))
    if model:
        logs = logs.filter(Q(served_model=model) | Q(served_model="", requested_model=model))
    if provider:
        logs = logs.filter(provider=provider)
    return logs


def _ms(value: float | None) -> int | None:
    return round(value) if value is not None else None


def usage_by_day(*, logs: QuerySet[RequestLog], days: int) -> list[DayUsage]:
    """One entry per day, oldest first; days without traffic are zeros."""
    rows = (
        logs.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            requests=Count("id"), errors=ERRORS, latency=Avg("latency_ms"), tokens=Sum(TOKENS)
        )
    )
    by_day = {row["day"]: row for row in rows}
    first = _first_day(days)
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row: Mapping[str, Any] = by_day.get(day, {})
        result.append(
            DayUsage(
                day=day,
                requests=row.get("requests", 0),
                errors=row.get("errors", 0),
                avg_latency_ms=_ms(row.get("latency")),
                tokens=row.get("tokens") or 0,
            )
        )
    return result


def usage_totals(*, logs: QuerySet[RequestLog]) -> UsageTotals:
    """Requests, errors and tokens over the rows, in one query."""
    sums = logs.aggregate(
        requests=Count("id"),
        errors=ERRORS,
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        total=Sum(TOKENS),
    )
    return UsageTotals(
        requests=sums["requests"],
        errors=sums["errors"],
        prompt_tokens=sums["prompt"] or 0,
        completion_tokens=sums["completion"] or 0,
        total_tokens=sums["total"] or 0,
    )


def usage_by_route(*, logs: QuerySet[RequestLog]) -> list[RouteUsage]:
    """Requests, errors, mean latency and tokens per (model, provider), busiest first.

    A request that no model served counts under the model it asked for.
    """
    rows = (
        logs.values("served_model", "requested_model", "provider")
        .annotate(
            requests=Count("id"),
            errors=ERRORS,
            latency=Avg("latency_ms"),
            timed=Count("latency_ms"),
            tokens=Sum(TOKENS),
            estimated=ESTIMATED,
        )
        .order_by()
    )
    merged: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        key = (row["served_model"] or row["requested_model"] or "—", row["provider"])
        total = merged.setdefault(key, [0, 0, 0.0, 0, 0, 0])
        total[0] += row["requests"]
        total[1] += row["errors"]
        if row["latency"] is not None:
            total[2] += row["latency"] * row["timed"]
            total[3] += row["timed"]
        total[4] += row["tokens"] or 0
        total[5] += row["estimated"]
    routes = [
        RouteUsage(
            model=model,
            provider=provider,
            requests=int(requests),
            errors=int(errors),
            avg_latency_ms=round(latency_sum / weight) if weight else None,
            tokens=int(tokens),
            estimated=int(estimated),
        )
        for (model, provider), (requests, errors, latency_sum, weight, tokens, estimated) in (
            merged.items()
        )
    ]
    return sorted(routes, key=lambda route: (-route.requests, route.model, route.provider))


def usage_filters(*, workspace: Workspace, days: int) -> tuple[list[str], list[str]]:
    """The models and providers seen in the period, for the filter pickers."""
    logs = usage_logs(workspace=workspace, days=days)
    models = logs.exclude(served_model="").values_list("served_model", flat=True).distinct()
    providers = logs.exclude(provider="").values_list("provider", flat=True).distinct()
    return sorted(set(models)), sorted(set(providers))

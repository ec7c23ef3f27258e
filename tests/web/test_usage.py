"""gateway.requestlog.usage: per-day and per-route aggregation of the request log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.models import RequestLog
from gateway.requestlog.usage import (
    usage_by_day,
    usage_by_route,
    usage_filters,
    usage_logs,
    usage_totals,
)

pytestmark = pytest.mark.django_db


def add(workspace, pk: str, days_ago: int = 0, **fields) -> None:
    RequestLog.objects.create(id=pk, workspace=workspace, endpoint="chat/completions", **fields)
    created = timezone.now() - timedelta(days=days_ago)
    RequestLog.objects.filter(pk=pk).update(created_at=created)


def test_days_without_traffic_are_zeros_and_the_order_is_oldest_first(workspace):
    add(workspace, "a", days_ago=2, status="success", latency_ms=100)
    add(workspace, "b", days_ago=2, status="partial", latency_ms=300)
    add(workspace, "c", days_ago=0, status="success")

    days = usage_by_day(logs=usage_logs(workspace=workspace, days=7), days=7)

    assert len(days) == 7
    assert days[0].day < days[-1].day == timezone.localdate()
    two_days_ago = days[-3]
    assert (two_days_ago.requests, two_days_ago.errors, two_days_ago.avg_latency_ms) == (2, 1, 200)
    assert (days[-1].requests, days[-1].avg_latency_ms) == (1, None)
    assert sum(d.requests for d in days) == 3


def test_rows_older_than_the_period_are_left_out(workspace):
    add(workspace, "old", days_ago=7, status="success")
    add(workspace, "new", days_ago=6, status="success")

    assert usage_logs(workspace=workspace, days=7).count() == 1


def test_routes_group_by_served_model_and_fall_back_to_the_requested_one(workspace):
    add(workspace, "a", status="success", served_model="g/m", provider="g", latency_ms=100)
    add(workspace, "b", status="success", served_model="g/m", provider="g")
    add(workspace, "c", status="error", requested_model="g/m", served_model="", provider="")
    add(workspace, "d", status="error", requested_model="x/y", served_model="", provider="")

    routes = usage_by_route(logs=usage_logs(workspace=workspace, days=7))

    first = routes[0]
    assert (first.model, first.provider, first.requests, first.errors) == ("g/m", "g", 2, 0)
    assert first.avg_latency_ms == 100
    assert {(r.model, r.provider, r.errors) for r in routes[1:]} == {("g/m", "", 1), ("x/y", "", 1)}


def test_filters_list_the_models_and_providers_seen(workspace):
    add(workspace, "a", status="success", served_model="g/m", provider="g")
    add(workspace, "b", status="error", requested_model="q/r")

    assert usage_filters(workspace=workspace, days=7) == (["g/m"], ["g"])


def test_routes_sum_tokens_and_count_the_estimated_rows(workspace):
    add(workspace, "a", status="success", served_model="g/m", provider="g", total_tokens=40)
    add(workspace, "b", status="success", served_model="g/m", provider="g", total_tokens=2)
    add(workspace, "c", status="success", served_model="g/m", provider="g", usage_estimated=True)
    add(workspace, "d", status="error", served_model="", requested_model="x/y")

    routes = {r.model: r for r in usage_by_route(logs=usage_logs(workspace=workspace, days=7))}

    assert (routes["g/m"].tokens, routes["g/m"].estimated) == (42, 1)
    assert (routes["x/y"].tokens, routes["x/y"].estimated) == (0, 0)


def test_totals_sum_tokens_and_count_a_total_the_provider_left_out(workspace):
    add(workspace, "a", status="success", prompt_tokens=10, completion_tokens=5, total_tokens=15)
    add(workspace, "b", status="success", prompt_tokens=3, completion_tokens=4)  # no total sent
    add(workspace, "c", status="error")
    add(workspace, "old", days_ago=9, status="success", total_tokens=1000)

    totals = usage_totals(logs=usage_logs(workspace=workspace, days=7))

    assert (totals.requests, totals.errors) == (3, 1)
    assert (totals.prompt_tokens, totals.completion_tokens, totals.total_tokens) == (13, 9, 22)


def test_tokens_are_counted_per_day_and_per_route(workspace):
    add(workspace, "a", days_ago=1, served_model="g/m", provider="g", total_tokens=40)
    add(workspace, "b", days_ago=0, served_model="g/m", provider="g", total_tokens=2)

    logs = usage_logs(workspace=workspace, days=7)
    days = usage_by_day(logs=logs, days=7)
    routes = usage_by_route(logs=logs)

    assert [d.tokens for d in days[-2:]] == [40, 2]
    assert routes[0].tokens == 42

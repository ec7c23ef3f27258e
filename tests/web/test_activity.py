"""The Activity page: the workspace's own requests with their outcome and fallback trace,
filtered by model and status, paginated; and the token totals on the Usage page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.models import RequestLog
from gateway.web.activity import PER_PAGE

pytestmark = pytest.mark.django_db

FALLBACK = [
    {
        "provider": "groq",
        "model": "groq/llama-3.1-8b-instant",
        "status": "rate_limited",
        "http_status": 429,
        "reason": "HTTP 429",
        "ms": 40,
    },
    {"provider": "homelab", "model": "homelab/llama-3", "status": "ok", "reason": "", "ms": 90},
]


def add(workspace, pk: str, minutes_ago: int = 0, **fields) -> RequestLog:
    fields.setdefault("endpoint", "chat/completions")
    row = RequestLog.objects.create(id=pk, workspace=workspace, **fields)
    RequestLog.objects.filter(pk=pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return row


def rows(page: str) -> list[str]:
    """The request ids of the table's rows, in order."""
    marker = 'data-testid="activity-row" data-request-id="'
    return [chunk.split('"', 1)[0] for chunk in page.split(marker)[1:]]


def test_requests_are_listed_newest_first_with_outcome_and_fallback_trace(client_in, workspace):
    add(
        workspace,
        "gen-older",
        minutes_ago=5,
        status="error",
        http_status=503,
        requested_model="x/y",
        error_code="no_available_model",
    )
    add(
        workspace,
        "gen-newer",
        minutes_ago=1,
        status="success",
        http_status=200,
        requested_model="openprovider/auto-free",
        served_model="homelab/llama-3",
        provider="homelab",
        latency_ms=130,
        prompt_tokens=7,
        completion_tokens=5,
        total_tokens=12,
        attempts=FALLBACK,
    )

    page = client_in.get("/account/activity/").content.decode()

    assert rows(page) == ["gen-newer", "gen-older"]
    assert "130 ms" in page
    assert "12 <span" in page
    assert "(7 in, 5 out)" in page
    assert "asked for openprovider/auto-free" in page
    assert "no_available_model" in page
    trace = page.split('data-testid="activity-trace"')[1].split("</ol>")[0]
    assert trace.index("groq/llama-3.1-8b-instant") < trace.index("homelab/llama-3")
    assert "HTTP 429" in trace


def test_only_this_workspaces_requests_are_shown(client_in, workspace, other_workspace):
    add(workspace, "gen-mine", served_model="homelab/llama-3", status="success")
    add(other_workspace, "gen-theirs", served_model="theirs/secret-model", status="success")

    page = client_in.get("/account/activity/").content.decode()
    filtered = client_in.get("/account/activity/", {"model": "theirs/secret-model"})

    assert rows(page) == ["gen-mine"]
    assert "theirs/secret-model" not in page
    assert rows(filtered.content.decode()) == ["gen-mine"]  # an unknown model is ignored


def test_filters_narrow_by_model_and_status(client_in, workspace):
    add(workspace, "gen-a", served_model="homelab/llama-3", status="success")
    add(workspace, "gen-b", served_model="homelab/llama-3", status="error")
    add(workspace, "gen-c", requested_model="x/y", status="error")

    by_model = client_in.get("/account/activity/", {"model": "homelab/llama-3"})
    by_both = client_in.get("/account/activity/", {"model": "homelab/llama-3", "status": "error"})
    asked_only = client_in.get("/account/activity/", {"model": "x/y"})
    bad_status = client_in.get("/account/activity/", {"status": "nonsense"})

    assert sorted(rows(by_model.content.decode())) == ["gen-a", "gen-b"]
    assert rows(by_both.content.decode()) == ["gen-b"]
    assert rows(asked_only.content.decode()) == ["gen-c"]
    assert len(rows(bad_status.content.decode())) == 3


def test_pages_hold_fifty_requests_and_keep_the_filters(client_in, workspace):
    for i in range(PER_PAGE + 3):
        add(workspace, f"gen-{i:03}", minutes_ago=i, status="success", served_model="homelab/m")

    first = client_in.get("/account/activity/", {"status": "success"}).content.decode()
    second = client_in.get("/account/activity/", {"status": "success", "page": 2}).content.decode()
    beyond = client_in.get("/account/activity/", {"page": 99}).content.decode()

    assert len(rows(first)) == PER_PAGE
    assert rows(second) == ["gen-050", "gen-051", "gen-052"]
    assert 'href="?status=success&amp;page=2"' in first
    assert rows(beyond) == rows(second)  # past the end: the last page


def test_an_empty_workspace_is_told_where_requests_come_from(client_in):
    page = client_in.get("/account/activity/").content.decode()

    assert 'data-testid="activity-empty"' in page
    assert 'href="/account/keys/"' in page


def test_values_from_the_log_are_escaped(client_in, workspace):
    add(
        workspace,
        "gen-x",
        requested_model="<script>alert(1)</script>",
        status="error",
        attempts=[{"model": "<img src=x onerror=alert(1)>", "status": "error", "reason": "x"}],
    )

    page = client_in.get("/account/activity/").content.decode()

    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page


def test_usage_shows_token_totals(client_in, workspace):
    add(
        workspace,
        "gen-1",
        status="success",
        served_model="homelab/m",
        prompt_tokens=10,
        completion_tokens=20,
        total_tokens=30,
    )
    add(
        workspace,
        "gen-2",
        status="success",
        served_model="homelab/m",
        prompt_tokens=1,
        completion_tokens=2,
        total_tokens=3,
    )

    page = client_in.get("/account/usage/").content.decode()

    assert 'data-testid="usage-prompt-tokens">11<' in page
    assert 'data-testid="usage-completion-tokens">22<' in page
    assert 'data-testid="usage-total-tokens">33<' in page
    assert "Tokens per day" in page

"""Account pages: overview, saved models, conversations and usage."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Conversation, SavedModel
from gateway.models import RequestLog

pytestmark = pytest.mark.django_db


def log(workspace, n: int, *, days_ago: int = 0, **fields) -> None:
    created = timezone.now() - timedelta(days=days_ago)
    for i in range(n):
        row = RequestLog.objects.create(
            id=f"gen-{days_ago}-{fields.get('served_model', '')}-{fields.get('status', '')}-{i}",
            workspace=workspace,
            endpoint="chat/completions",
            **fields,
        )
        RequestLog.objects.filter(pk=row.pk).update(created_at=created)


def test_the_overview_links_every_account_section(client_in):
    page = client_in.get("/account/").content.decode()

    sections = ["/account/providers/", "/account/keys/", "/account/saved/"]
    for href in [*sections, "/account/conversations/", "/account/usage/", "/account/activity/"]:
        assert f'href="{href}"' in page
    assert 'aria-current="page">Account</a>' in page


def test_saved_models_are_listed_and_removable(client_in, workspace, text_model):
    saved = SavedModel.objects.create(workspace=workspace, model_id=text_model.public_id)
    SavedModel.objects.create(workspace=workspace, model_id="homelab/retired")

    page = client_in.get("/account/saved/").content.decode()
    assert text_model.public_id in page
    assert "No longer listed" in page

    client_in.post(f"/account/saved/{saved.pk}/delete")
    assert not SavedModel.objects.filter(pk=saved.pk).exists()


def test_another_workspaces_saved_model_is_not_found(client_in, other_workspace):
    theirs = SavedModel.objects.create(workspace=other_workspace, model_id="x/y")

    assert client_in.post(f"/account/saved/{theirs.pk}/delete").status_code == 404
    assert SavedModel.objects.filter(pk=theirs.pk).exists()


def test_the_saved_models_empty_state_points_to_models(client_in):
    page = client_in.get("/account/saved/").content.decode()

    assert "No saved models yet." in page
    assert 'href="/models/"' in page


def test_conversations_are_listed_for_this_workspace_only(
    client_in, conversation, other_conversation
):
    page = client_in.get("/account/conversations/").content.decode()

    assert "My chat" in page
    assert f'href="/chat/{conversation.pk}/"' in page
    assert "Their secret chat" not in page


def test_conversation_titles_are_escaped(client_in, workspace):
    Conversation.objects.create(workspace=workspace, title="<script>alert(1)</script>")

    page = client_in.get("/account/conversations/").content.decode()

    assert "<script>alert(1)" not in page


def test_usage_shows_requests_errors_and_latency_per_route(client_in, workspace, other_workspace):
    log(workspace, 3, served_model="relay/a", provider="relay", status="success", latency_ms=100)
    log(workspace, 1, served_model="relay/a", provider="relay", status="error", latency_ms=300)
    log(workspace, 2, days_ago=20, served_model="relay/b", provider="relay", status="success")
    log(other_workspace, 5, served_model="theirs/x", provider="theirs", status="success")

    week = client_in.get("/account/usage/").content.decode()
    month = client_in.get("/account/usage/?days=30").content.decode()

    assert "4 requests, 1 error in the last 7 days" in week
    assert "150 ms" in week  # (3*100 + 300) / 4
    assert "relay/b" not in week.split('data-testid="usage-routes"')[-1]
    assert "6 requests, 1 error in the last 30 days" in month
    assert "theirs/x" not in month
    assert week.count('data-testid="usage-chart"') == 3  # traffic, latency, tokens
    assert "<rect" in week


def test_usage_filters_by_model_and_ignores_unknown_values(client_in, workspace):
    log(workspace, 2, served_model="relay/a", provider="relay", status="success")
    log(workspace, 1, served_model="relay/b", provider="relay", status="success")

    only_a = client_in.get("/account/usage/?model=relay/a").content.decode()
    unknown = client_in.get("/account/usage/?model=nope&days=999").content.decode()

    assert "2 requests, 0 errors in the last 7 days for relay/a" in only_a
    assert "3 requests, 0 errors in the last 7 days." in unknown


def test_usage_with_no_traffic_explains_the_next_step(client_in):
    page = client_in.get("/account/usage/").content.decode()

    assert "No requests yet in this period." in page
    assert "No data in this period." in page


def test_usage_shows_tokens_per_route_and_how_many_were_estimated(client_in, workspace):
    log(workspace, 2, served_model="relay/a", provider="relay", status="success", total_tokens=50)
    log(
        workspace,
        1,
        served_model="relay/a",
        provider="relay",
        status="partial",
        total_tokens=7,
        usage_estimated=True,
    )

    page = client_in.get("/account/usage/").content.decode()
    routes = page.split('data-testid="usage-routes"')[1]

    assert '<td data-testid="usage-tokens">107 <span class="muted"' in routes
    assert "(1 estimated)</span>" in routes

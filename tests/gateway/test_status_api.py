"""GET /v1/providers/status: the workspace's credentials, their health and its own last sync."""

import pytest
from django.utils import timezone

from catalog.models import SyncRun
from tests.catalog.factories import CUSTOM_KEY, GROQ_KEY, make_credential, seed_model

B_CANARY = "B-CANARY-7f3e9d"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def groq(workspace):
    credential = make_credential(
        workspace,
        "groq",
        api_key=GROQ_KEY,
        state="ok",
        checked_at=timezone.now(),
        check_latency_ms=42,
        last_sync_at=timezone.now(),
    )
    seed_model(credential, "a")
    seed_model(credential, "b")
    seed_model(credential, "eyes", category="vision")
    seed_model(credential, "gone", is_active=False)
    return credential


@pytest.fixture
def homelab(workspace):
    return make_credential(
        workspace,
        "custom",
        name="homelab",
        state="down",
        state_message="could not connect",
        last_sync_error="could not connect to upstream",
    )


@pytest.fixture
def their_failures(other_user):
    """Workspace B: a credential whose errors carry a canary, and a failed sync run."""
    credential = make_credential(
        other_user.workspace,
        "groq",
        name="bgroq",
        api_key="gsk_BWORKSPACEsecretkey123456",
        state="auth_failed",
        state_message=f"authentication failed: {B_CANARY}",
        last_sync_error=f"upstream error: {B_CANARY}",
    )
    SyncRun.objects.create(
        workspace=other_user.workspace,
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        results={"bgroq": {"provider": "groq", "error": B_CANARY}, "groq": {"error": B_CANARY}},
    )
    return credential


def test_status_lists_each_credential_with_state_sync_and_counts(api_client, groq, homelab):
    response = api_client.get("/v1/providers/status")

    assert response.status_code == 200
    entries = {entry["name"]: entry for entry in response.json()["data"]}
    assert set(entries) == {"groq", "homelab"}
    g = entries["groq"]
    assert g["provider"] == "groq"
    assert g["provider_name"] == "Groq"
    assert g["enabled"] is True
    assert g["state"] == "ok"
    assert g["latency_ms"] == 42
    assert isinstance(g["checked_at"], int)
    assert isinstance(g["last_sync_at"], int)
    assert g["last_sync_error"] == ""
    assert g["stale"] is False
    assert g["models"] == {"text": 2, "vision": 1, "total": 3}
    h = entries["homelab"]
    assert (h["state"], h["state_message"]) == ("down", "could not connect")
    assert h["models"] == {"total": 0}
    assert h["stale"] is True
    assert h["checked_at"] is None


def test_status_shows_the_workspaces_last_sync_run(api_client, workspace, groq):
    SyncRun.objects.create(workspace=workspace, status="ok", results={"groq": {"added": 9}})
    latest = SyncRun.objects.create(
        workspace=workspace,
        status="partial",
        finished_at=timezone.now(),
        results={"groq": {"provider": "groq", "added": 1, "error": ""}},
    )

    run = api_client.get("/v1/providers/status").json()["last_sync_run"]

    assert run["id"] == latest.pk
    assert run["status"] == "partial"
    assert run["results"] == {"groq": {"provider": "groq", "added": 1, "error": ""}}
    assert isinstance(run["started_at"], int)
    assert isinstance(run["finished_at"], int)


def test_status_never_shows_another_workspaces_errors(api_client, groq, their_failures):
    response = api_client.get("/v1/providers/status")

    body = response.content.decode()
    assert B_CANARY not in body
    assert "bgroq" not in body
    assert response.json()["last_sync_run"] is None


def test_status_never_contains_a_key(api_client, groq, homelab):
    body = api_client.get("/v1/providers/status").content.decode()

    assert GROQ_KEY not in body
    assert CUSTOM_KEY not in body
    assert "api_key" not in body


def test_status_needs_a_key(client, db):
    assert client.get("/v1/providers/status").status_code == 401

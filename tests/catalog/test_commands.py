"""CLI: set_provider_key (key from stdin only), sync_catalog and check_providers."""

import io
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.locks import lock_acquire
from catalog.models import CatalogModel
from providers.errors import ProviderError
from providers.models import ProviderCredential
from providers.wire import ModelInfo
from tests.catalog.factories import CUSTOM_BASE, CUSTOM_MODELS_URL, StubAdapter, free

SECRET = "gsk_commandLINEcanary0123456789abcd"


def run(*args, stdin: str | None = None, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        "catalog.credentials.catalog_sync_credential_task.delay",
        calls.append,
    )
    return calls


def test_set_provider_key_reads_the_key_from_stdin_and_queues_a_sync(
    user, queued, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("set_provider_key", user.email, "groq", stdin=io.StringIO(SECRET), stdout=out)
    out = out.getvalue()

    credential = ProviderCredential.objects.get(workspace=user.workspace, name="groq")
    assert credential.api_key == SECRET
    assert queued == [credential.pk]
    assert "Saved groq (groq)" in out
    assert "Model sync queued." in out
    assert SECRET not in out
    assert SECRET not in caplog.text


def test_set_provider_key_never_takes_the_key_from_argv(user):
    with pytest.raises(CommandError):
        call_command("set_provider_key", user.email, "groq", SECRET)

    assert not ProviderCredential.objects.exists()


def test_set_provider_key_saves_a_keyless_custom_provider_and_can_sync_now(user, queued, http_mock):
    http_mock.get(CUSTOM_MODELS_URL, json={"data": [{"id": "llama3"}]})

    out, _ = run(
        "set_provider_key",
        user.email,
        "custom",
        "--name",
        "homelab",
        "--base-url",
        CUSTOM_BASE,
        "--sync-now",
        stdin="\n",
    )

    credential = ProviderCredential.objects.get(name="homelab")
    assert (credential.provider, credential.base_url, credential.api_key) == (
        "custom",
        CUSTOM_BASE,
        "",
    )
    assert "no key" in out
    assert "Synced: +1 models" in out
    assert CatalogModel.objects.get().public_id == "homelab/llama3"
    assert queued == []


def test_set_provider_key_reports_validation_errors(user):
    with pytest.raises(CommandError, match="needs a base URL"):
        run("set_provider_key", user.email, "custom", "--name", "lab", stdin="")
    with pytest.raises(CommandError, match="Unknown provider"):
        run("set_provider_key", user.email, "nope", stdin="k\n")
    with pytest.raises(CommandError, match="No user"):
        run("set_provider_key", "nobody@example.com", "groq", stdin="k\n")


@pytest.fixture
def two_credentials(user, monkeypatch) -> dict[str, StubAdapter]:
    for name in ("alpha", "beta"):
        ProviderCredential.objects.create(
            workspace=user.workspace, provider="custom", name=name, base_url=CUSTOM_BASE
        )
    stubs = {"alpha": StubAdapter(), "beta": StubAdapter()}
    stubs["alpha"].models = [free("a1"), free("a2")]
    stubs["beta"].error = ProviderError("upstream error: HTTP 503", kind="upstream")
    monkeypatch.setattr("catalog.services.adapter_for", lambda c: stubs[c.name])
    return stubs


def test_sync_catalog_prints_progress_and_a_summary_table(user, two_credentials):
    out, _ = run("sync_catalog", "--email", user.email)

    assert "[1/2] alpha (custom) +2 -0 ~0" in out
    assert "[2/2] beta (custom) error: upstream error: HTTP 503" in out
    header = next(line for line in out.splitlines() if line.startswith("workspace"))
    assert header.split() == [
        "workspace",
        "credential",
        "provider",
        "added",
        "removed",
        "changed",
        "error",
    ]
    assert CatalogModel.objects.filter(is_active=True).count() == 2


def test_sync_catalog_says_how_many_models_it_refused_for_an_unreadable_price(
    user, two_credentials
):
    two_credentials["alpha"].models = [
        free("a1"),
        *(ModelInfo(upstream_id=i, not_free_reason="price_unreadable") for i in ("b", "c")),
    ]

    out, _ = run("sync_catalog", "--provider", "alpha")

    assert "alpha (custom) +1 -0 ~0 (2 refused: price unreadable)" in out


def test_sync_catalog_says_when_a_change_is_held_for_review(user, two_credentials):
    run("sync_catalog", "--provider", "alpha")
    two_credentials["alpha"].models = [free("a3")]

    out, _ = run("sync_catalog", "--provider", "alpha")

    assert "[1/1] alpha (custom) held for review (would remove 2, add 1)" in out
    assert CatalogModel.objects.filter(is_active=True).count() == 2


def test_sync_catalog_can_be_limited_to_a_provider(user, two_credentials):
    out, _ = run("sync_catalog", "--provider", "alpha")

    assert "alpha" in out
    assert "beta" not in out


def test_sync_catalog_exits_when_another_sync_holds_the_lock(user, two_credentials):
    lock_acquire(f"catalog-sync:all:{user.workspace.pk}:*", timeout=60)

    with pytest.raises(CommandError, match="Another catalog sync is running"):
        run("sync_catalog", "--email", user.email)


def test_check_providers_prints_state_latency_and_message(user, http_mock):
    ProviderCredential.objects.create(
        workspace=user.workspace, provider="custom", name="lab", base_url=CUSTOM_BASE
    )
    http_mock.get(CUSTOM_MODELS_URL, status=401, json={"error": {"message": "bad key"}})

    out, _ = run("check_providers", "--email", user.email)

    row = out.splitlines()[-1]
    assert "auth_failed" in row
    assert " ms " in row
    assert "authentication failed" in row


def test_commands_with_nothing_to_do_say_so(user):
    assert "No enabled provider credentials" in run("sync_catalog")[0]
    assert "No enabled provider credentials" in run("check_providers")[0]

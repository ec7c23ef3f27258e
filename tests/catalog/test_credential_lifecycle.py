"""The credential lifecycle through every entry point (admin, web pages, CLI, the service): a
change drops the cached routes and listings at once and again after the commit, a saved or edited
enabled credential gets exactly one sync after the commit, and a rollback queues nothing."""

import io
import logging
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from accounts.models import User
from catalog import credentials as lifecycle
from catalog.listing_cache import catalog_version
from catalog.services import provider_check
from catalog.tasks import catalog_sync_credential_task
from providers.models import ProviderCredential
from tests.catalog.factories import CUSTOM_MODELS_URL, make_credential

pytestmark = pytest.mark.django_db

ADMIN = "/admin/providers/providercredential/"
GROQ_KEY = "gsk_lifecycleCANARY0123456789abcd"
NEW_KEY = "gsk_lifecycleREPLACED0123456789wxyz"


class Rollback(Exception):
    """Raised after an entry point ran, to roll its transaction back."""


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(catalog_sync_credential_task, "delay", sent.append)
    return sent


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_web(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.com", password="x"))
    return client


@pytest.fixture
def groq(workspace) -> ProviderCredential:
    return make_credential(workspace, "groq", api_key=GROQ_KEY, key_hint="abcd")


def _admin_form(credential: ProviderCredential, **extra: str) -> dict[str, str]:
    return {
        "workspace": str(credential.workspace_id),
        "provider": credential.provider,
        "name": credential.name,
        "base_url": credential.base_url,
        "account_id": "",
        "enabled": "on",
        **extra,
    }


def admin_add(fixture: Callable) -> None:
    data = {"workspace": fixture("workspace").pk, "provider": "groq", "name": "", "enabled": "on"}
    response = fixture("admin_web").post(f"{ADMIN}add/", {**data, "replace_key": GROQ_KEY})
    assert response.status_code == 302


def admin_change(fixture: Callable) -> None:
    groq = fixture("groq")
    form = _admin_form(groq, replace_key=NEW_KEY)
    assert fixture("admin_web").post(f"{ADMIN}{groq.pk}/change/", form).status_code == 302


def admin_edit_keeping_the_key(fixture: Callable) -> None:
    groq = fixture("groq")
    form = _admin_form(groq, name="fast")
    assert fixture("admin_web").post(f"{ADMIN}{groq.pk}/change/", form).status_code == 302


def web_add(fixture: Callable) -> None:
    form = {"api_key": GROQ_KEY, "form_key": "groq"}
    assert fixture("web").post("/account/providers/groq/save", form).status_code == 302


def web_replace(fixture: Callable) -> None:
    form = {"api_key": NEW_KEY, "form_key": f"cred{fixture('groq').pk}"}
    assert fixture("web").post("/account/providers/groq/save", form).status_code == 302


def cli_set_provider_key(fixture: Callable) -> None:
    email, key = fixture("user").email, io.StringIO(NEW_KEY)
    call_command("set_provider_key", email, "groq", stdin=key, stdout=io.StringIO())


SAVES = {
    "admin add": admin_add,
    "admin change with a new key": admin_change,
    "admin edit keeping the key": admin_edit_keeping_the_key,
    "web add": web_add,
    "web replace": web_replace,
    "cli set_provider_key": cli_set_provider_key,
}


def _run_save(request, name: str) -> None:
    SAVES[name](request.getfixturevalue)


@pytest.mark.parametrize("entry_point", SAVES.keys())
def test_a_save_drops_the_caches_now_and_after_commit_and_queues_one_sync(
    request, entry_point, workspace, queued, django_capture_on_commit_callbacks
):
    before = catalog_version(workspace.pk)

    with django_capture_on_commit_callbacks(execute=True):
        _run_save(request, entry_point)
        saved = catalog_version(workspace.pk)
        assert saved != before  # dropped at once, before the commit
        assert queued == []  # nothing is sent before the commit

    assert catalog_version(workspace.pk) != saved  # and again after it
    assert queued == [ProviderCredential.objects.get(workspace=workspace).pk]


def _save_then_roll_back(request, name: str) -> None:
    with transaction.atomic():
        _run_save(request, name)
        raise Rollback


@pytest.mark.parametrize("entry_point", SAVES.keys())
def test_a_rolled_back_save_queues_nothing(
    request, entry_point, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback):
        _save_then_roll_back(request, entry_point)

    assert callbacks == []
    assert queued == []


def admin_delete(admin_web: Client, groq: ProviderCredential) -> None:
    response = admin_web.post(f"{ADMIN}{groq.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302


def admin_bulk_delete(admin_web: Client, groq: ProviderCredential) -> None:
    response = admin_web.post(
        ADMIN, {"action": "delete_selected", "_selected_action": [groq.pk], "post": "yes"}
    )
    assert response.status_code == 302


def web_delete(web: Client, groq: ProviderCredential) -> None:
    assert web.post(f"/account/credentials/{groq.pk}/delete").status_code == 302


DELETES = {
    "admin delete": (admin_delete, "admin_web"),
    "admin bulk delete": (admin_bulk_delete, "admin_web"),
    "web delete": (web_delete, "web"),
}


@pytest.mark.parametrize("entry_point", DELETES.keys())
def test_a_delete_drops_the_caches_now_and_after_commit_and_queues_nothing(
    request, entry_point, groq, queued, django_capture_on_commit_callbacks
):
    action, client_fixture = DELETES[entry_point]
    before = catalog_version(groq.workspace_id)

    with django_capture_on_commit_callbacks(execute=True):
        action(request.getfixturevalue(client_fixture), groq)
        deleted = catalog_version(groq.workspace_id)
        assert deleted != before

    assert not ProviderCredential.objects.filter(pk=groq.pk).exists()
    assert catalog_version(groq.workspace_id) != deleted
    assert queued == []


def test_a_bulk_delete_drops_the_caches_of_every_workspace_it_touched(
    admin_web, groq, other_user, queued
):
    other = make_credential(other_user.workspace, "groq")
    versions = {ws: catalog_version(ws) for ws in (groq.workspace_id, other.workspace_id)}

    admin_bulk_delete_many = {
        "action": "delete_selected",
        "_selected_action": [groq.pk, other.pk],
        "post": "yes",
    }
    assert admin_web.post(ADMIN, admin_bulk_delete_many).status_code == 302

    assert not ProviderCredential.objects.exists()
    assert all(catalog_version(ws) != version for ws, version in versions.items())


def test_disabling_a_credential_in_the_admin_drops_the_caches_and_queues_no_sync(
    admin_web, groq, queued, django_capture_on_commit_callbacks
):
    before = catalog_version(groq.workspace_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_web.post(f"{ADMIN}{groq.pk}/change/", _admin_form(groq, enabled=""))

    assert response.status_code == 302
    assert catalog_version(groq.workspace_id) != before
    assert queued == []


def test_a_status_check_that_changes_nothing_neither_drops_the_caches_nor_queues(
    workspace, http_mock, queued, django_capture_on_commit_callbacks
):
    credential = make_credential(workspace, "custom", name="homelab", state="ok")
    http_mock.get(CUSTOM_MODELS_URL, json={"data": []})
    before = catalog_version(workspace.pk)

    with django_capture_on_commit_callbacks(execute=True):
        provider_check(credential=credential)

    credential.refresh_from_db()
    assert credential.checked_at is not None  # the status write happened
    assert catalog_version(workspace.pk) == before
    assert queued == []


def test_a_broker_outage_keeps_the_save_logs_no_key_and_tells_the_caller(
    workspace, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(credential_id: int) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(catalog_sync_credential_task, "delay", broker_down)
    told: list[bool] = []
    caplog.set_level(logging.WARNING)

    with django_capture_on_commit_callbacks(execute=True):
        credential = lifecycle.credential_save(
            workspace=workspace, provider="groq", api_key=GROQ_KEY, on_sync_queued=told.append
        )

    assert ProviderCredential.objects.filter(pk=credential.pk).exists()
    assert told == [False]
    assert f"provider credential {credential.pk}" in caplog.text
    assert GROQ_KEY not in caplog.text


def test_the_cli_says_when_the_sync_could_not_be_queued(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(credential_id: int) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(catalog_sync_credential_task, "delay", broker_down)
    out, err = io.StringIO(), io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "set_provider_key",
            user.email,
            "groq",
            stdin=io.StringIO(GROQ_KEY),
            stdout=out,
            stderr=err,
        )

    assert ProviderCredential.objects.filter(workspace=user.workspace).exists()
    assert "Could not queue the model sync" in err.getvalue()
    assert "Model sync queued." not in out.getvalue()

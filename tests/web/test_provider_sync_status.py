"""The provider card follows a sync live: after a save (or "Sync now") the page marks the credential
as syncing, and its status endpoint answers queued, running, then done with the result."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import CatalogModel, SyncRun
from catalog.services import catalog_sync_credential
from catalog.tasks import catalog_sync_credential_task
from providers.models import ProviderCredential
from tests.catalog.factories import GROQ_MODELS_URL
from tests.conftest import provider_fixture

pytestmark = pytest.mark.django_db

GROQ_KEY = "gsk_canaryLIVEsyncSECRET0123456789abcd"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(catalog_sync_credential_task, "delay", sent.append)
    return sent


@pytest.fixture
def saved(client_in, workspace, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_in.post("/account/providers/groq/save", {"api_key": GROQ_KEY, "form_key": "groq"})
    return ProviderCredential.objects.get(workspace=workspace, provider="groq")


def status(client, credential, **query):
    response = client.get(f"/account/credentials/{credential.pk}/status", query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.json()


def test_a_saved_key_is_marked_syncing_and_its_sync_starts_queued(client_in, saved, queued):
    page = client_in.get("/account/providers/").content.decode()

    assert queued == [saved.pk]
    assert f'data-sync-url="/account/credentials/{saved.pk}/status" data-syncing' in page
    assert "Syncing models…" in page
    assert 'src="/static/js/providers.js"' in page
    answer = status(client_in, saved)
    assert (answer["phase"], answer["models"], answer["result"]) == ("queued", 0, None)
    assert answer["last_sync_at"] is None


def test_a_sync_that_started_is_running(client_in, saved, workspace):
    SyncRun.objects.create(workspace=workspace, trigger="credential")

    assert status(client_in, saved)["phase"] == "running"


def test_a_finished_sync_is_done_with_its_models_and_result(client_in, saved, http_mock):
    http_mock.get(GROQ_MODELS_URL, json=provider_fixture("groq/models_list.json"))

    catalog_sync_credential(credential=saved)

    answer = status(client_in, saved)
    models = CatalogModel.objects.filter(credential=saved, is_active=True).count()
    assert answer["phase"] == "done"
    assert models > 0
    assert answer["models"] == models
    assert answer["result"]["added"] == models
    assert answer["result"]["error"] == ""
    assert answer["last_sync_at"] is not None
    page = client_in.get("/account/providers/").content.decode()
    assert f'data-sync-url="/account/credentials/{saved.pk}/status">' in page  # not watched
    assert f'data-testid="credential-models-{saved.pk}">{models}<' in page


def test_a_failed_sync_is_done_with_its_error_and_never_the_key(client_in, saved, http_mock):
    http_mock.get(GROQ_MODELS_URL, status=401, json=provider_fixture("groq/error_401.json"))

    catalog_sync_credential(credential=saved)

    response = client_in.get(f"/account/credentials/{saved.pk}/status")
    answer = response.json()
    assert answer["phase"] == "done"
    assert answer["result"]["error"]
    assert answer["state"] == "auth_failed"
    assert GROQ_KEY not in response.content.decode()
    assert GROQ_KEY[-8:] not in response.content.decode()


def test_sync_now_watches_the_credential_until_a_newer_run(
    client_in, saved, http_mock, queued, django_capture_on_commit_callbacks
):
    http_mock.get(GROQ_MODELS_URL, json=provider_fixture("groq/models_list.json"))
    catalog_sync_credential(credential=saved)
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    ProviderCredential.objects.filter(pk=saved.pk).update(updated_at=a_minute_ago)
    SyncRun.objects.update(started_at=a_minute_ago + timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(f"/account/credentials/{saved.pk}/sync")

    location = response["Location"]
    assert location.startswith(f"/account/providers/?syncing={saved.pk}&since=")
    since = location.split("since=")[1].split("#")[0]
    page = client_in.get(location.split("#")[0]).content.decode()
    assert f'?syncing={saved.pk}&amp;since={since}" data-syncing' in page
    assert status(client_in, saved, syncing=saved.pk, since=since)["phase"] == "queued"
    assert status(client_in, saved)["phase"] == "done"  # without the ask: the last run counts

    catalog_sync_credential(credential=saved)

    assert status(client_in, saved, syncing=saved.pk, since=since)["phase"] == "done"


def test_a_disabled_credential_is_not_watched(client_in, saved):
    ProviderCredential.objects.filter(pk=saved.pk).update(enabled=False)

    page = client_in.get("/account/providers/").content.decode()

    assert "data-syncing" not in page
    assert status(client_in, saved)["phase"] == "disabled"


def test_a_malformed_since_is_ignored(client_in, saved):
    assert status(client_in, saved, syncing="x", since="soon")["phase"] == "queued"
    assert status(client_in, saved, syncing=saved.pk, since=str(10**20))["phase"] == "queued"


def test_another_workspaces_credential_status_is_not_found(client_in, other_credential):
    response = client_in.get(f"/account/credentials/{other_credential.pk}/status")

    assert response.status_code == 404


def test_the_status_is_read_only(client_in, saved):
    response = client_in.post(f"/account/credentials/{saved.pk}/status")

    assert response.status_code == 405

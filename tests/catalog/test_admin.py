"""Admin: catalog models and read-only sync runs; sync/check actions queue jobs after commit."""

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from catalog.admin import check_now, sync_now
from catalog.listing_cache import catalog_version
from catalog.models import CatalogModel, SyncRun
from providers.models import ProviderCredential
from tests.catalog.factories import CUSTOM_KEY, make_credential, seed_model


@pytest.fixture
def model(custom_credential):
    return seed_model(custom_credential, "llama", name="<script>alert(1)</script>")


def test_catalog_model_changelist_filters_and_searches(admin_client, model):
    response = admin_client.get(
        "/admin/catalog/catalogmodel/", {"q": "homelab/lla", "is_active__exact": "1"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "homelab/llama" in page
    assert "<script>alert(1)</script>" not in page
    assert CUSTOM_KEY not in page


def test_catalog_model_change_page_never_shows_the_key(admin_client, model):
    page = admin_client.get(f"/admin/catalog/catalogmodel/{model.pk}/change/").content.decode()

    assert "homelab/llama" in page
    assert CUSTOM_KEY not in page
    assert "<script>alert(1)</script>" not in page


def test_sync_runs_are_read_only(admin_client, workspace):
    run = SyncRun.objects.create(workspace=workspace, status="ok", results={"groq": {"added": 1}})

    assert admin_client.get("/admin/catalog/syncrun/").status_code == 200
    assert admin_client.get("/admin/catalog/syncrun/add/").status_code == 403
    page = admin_client.get(f"/admin/catalog/syncrun/{run.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    posted = admin_client.post(f"/admin/catalog/syncrun/{run.pk}/change/", {"status": "failed"})
    assert posted.status_code == 403


def _admin_request(admin_user):
    request = RequestFactory().post("/admin/providers/providercredential/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize(
    ("action", "task"),
    [(sync_now, "catalog_sync_credential_task"), (check_now, "provider_check_task")],
)
def test_credential_actions_queue_a_job_per_credential_after_commit(
    admin_user, workspace, monkeypatch, django_capture_on_commit_callbacks, action, task
):
    on = make_credential(workspace, name="on")
    make_credential(workspace, name="off", enabled=False)
    queued: list[int] = []
    monkeypatch.setattr(f"catalog.credentials.{task}.delay", queued.append)
    modeladmin = admin.site._registry[ProviderCredential]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        action(modeladmin, _admin_request(admin_user), ProviderCredential.objects.all())

    expected = (
        [on.pk]
        if action is sync_now
        else sorted(ProviderCredential.objects.values_list("pk", flat=True))
    )
    assert sorted(queued) == expected
    assert len(callbacks) == len(expected)


def test_editing_a_catalog_model_in_admin_drops_the_cached_listing(admin_client, model):
    version = catalog_version(model.workspace_id)

    admin_client.post(
        "/admin/catalog/catalogmodel/",
        {"action": "delete_selected", "_selected_action": [model.pk], "post": "yes"},
    )

    assert not CatalogModel.objects.filter(pk=model.pk).exists()
    assert catalog_version(model.workspace_id) != version

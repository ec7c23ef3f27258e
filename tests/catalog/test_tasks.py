"""Celery tasks are thin wrappers: called as plain functions they run the services inline."""

from catalog.models import CatalogModel, SyncRun
from catalog.tasks import catalog_sync_all_task, catalog_sync_credential_task
from config.celery import app
from tests.catalog.factories import free


def test_sync_all_task_syncs_every_enabled_credential(stub_adapter, custom_credential):
    stub_adapter.models = [free("a"), free("b")]

    assert catalog_sync_all_task() == "synced 1 workspaces"

    assert CatalogModel.objects.filter(is_active=True).count() == 2
    assert SyncRun.objects.get().trigger == "beat"


def test_credential_task_syncs_one_credential(stub_adapter, custom_credential):
    stub_adapter.models = [free("a")]

    assert catalog_sync_credential_task(custom_credential.pk) == "ok"

    run = SyncRun.objects.get()
    assert run.trigger == "credential"
    assert run.results["homelab"]["added"] == 1


def test_credential_task_skips_missing_and_disabled_credentials(stub_adapter, custom_credential):
    custom_credential.enabled = False
    custom_credential.save()

    assert catalog_sync_credential_task(custom_credential.pk) == "skipped"
    assert catalog_sync_credential_task(987654) == "skipped"
    assert stub_adapter.calls == 0


def test_tasks_are_registered_with_limits_and_late_acks():
    for name in (
        "catalog.tasks.catalog_sync_all_task",
        "catalog.tasks.catalog_sync_credential_task",
        "catalog.tasks.provider_check_all_task",
        "catalog.tasks.provider_check_task",
    ):
        task = app.tasks[name]
        assert task.acks_late is True
        assert 0 < task.soft_time_limit < task.time_limit


def test_beat_names_the_catalog_tasks():
    from django.conf import settings

    scheduled = {job["task"] for job in settings.BEAT_JOBS.values()}

    assert {
        "catalog.tasks.catalog_sync_all_task",
        "catalog.tasks.provider_check_all_task",
    } <= scheduled
    assert app.conf.accept_content == ["json"]

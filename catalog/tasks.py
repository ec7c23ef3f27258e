"""Celery entry points: thin wrappers over catalog.services (beat names the *_all tasks)."""

from celery import Task, shared_task
from celery.signals import worker_ready

from catalog.services import (
    catalog_sync_all,
    catalog_sync_credential,
    provider_check,
    provider_check_all,
    provider_recheck_unreadable,
)
from providers.models import ProviderCredential

LOCKED = "locked"


# Locks are owned by the task id: a task redelivered after its worker died takes them back.


@shared_task(bind=True, acks_late=True, soft_time_limit=30 * 60, time_limit=35 * 60)
def catalog_sync_all_task(self: Task) -> str:
    runs = catalog_sync_all(trigger="beat", lock_owner=self.request.id)
    return LOCKED if runs is None else f"synced {len(runs)} workspaces"


@shared_task(bind=True, acks_late=True, soft_time_limit=5 * 60, time_limit=6 * 60)
def catalog_sync_credential_task(self: Task, credential_id: int) -> str:
    credential = ProviderCredential.objects.filter(pk=credential_id).first()
    if credential is None or not credential.enabled:
        return "skipped"
    run = catalog_sync_credential(credential=credential, lock_owner=self.request.id)
    return LOCKED if run is None else run.status


@shared_task(bind=True, acks_late=True, soft_time_limit=9 * 60, time_limit=10 * 60)
def provider_check_all_task(self: Task) -> str:
    checked = provider_check_all(lock_owner=self.request.id)
    return LOCKED if checked is None else f"checked {len(checked)} credentials"


@shared_task(acks_late=True, soft_time_limit=2 * 60, time_limit=3 * 60)
def provider_check_task(credential_id: int) -> str:
    credential = ProviderCredential.objects.filter(pk=credential_id).first()
    if credential is None:
        return "skipped"
    return provider_check(credential=credential).state


@shared_task(bind=True, acks_late=True, soft_time_limit=9 * 60, time_limit=10 * 60)
def provider_recheck_unreadable_task(self: Task) -> str:
    checked = provider_recheck_unreadable(lock_owner=self.request.id)
    return LOCKED if checked is None else f"rechecked {len(checked)} credentials"


@worker_ready.connect(dispatch_uid="catalog-recheck-unreadable")
def _recheck_unreadable_on_start(**_: object) -> None:
    """A worker starting may be the restart that brought the right encryption key back."""
    provider_recheck_unreadable_task.delay()

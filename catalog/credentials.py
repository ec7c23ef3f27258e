"""The credential lifecycle: every save, key replacement, edit and delete of a provider credential
made by the web pages, the admin or the CLI goes through here.

A change drops the workspace's cached routes and listings at once and again after the commit
(the gateway caches the adapter built from the decrypted key, so a replaced key is used on the
next request), and a saved or edited enabled credential gets exactly one model sync, queued after
the commit (none if the transaction rolls back). Status writes from checks and syncs are not
changes here: provider_check and catalog_sync invalidate themselves when the state changes.
On-demand jobs (sync now, check now) are queued here too, so no caller enqueues by itself.
"""

import logging
from collections.abc import Callable
from functools import partial

from celery import Task
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Workspace
from catalog.services import catalog_invalidate
from catalog.tasks import catalog_sync_credential_task, provider_check_task
from providers import services as provider_services
from providers.models import ProviderCredential, validate_limits

logger = logging.getLogger(__name__)

OnQueued = Callable[[bool], None]  # told, after the commit, whether the job was queued


@transaction.atomic
def credential_save(
    *,
    workspace: Workspace,
    provider: str,
    api_key: str,
    name: str = "",
    base_url: str = "",
    account_id: str = "",
    sync: bool = True,
    on_sync_queued: OnQueued | None = None,
) -> ProviderCredential:
    """Create the workspace's credential called `name`, or replace it, then sync its models
    (`sync=False` when the caller syncs in the foreground instead)."""
    credential = provider_services.credential_save(
        workspace=workspace,
        provider=provider,
        api_key=api_key,
        name=name,
        base_url=base_url,
        account_id=account_id,
    )
    _changed(credential, sync=sync, on_sync_queued=on_sync_queued)
    return credential


@transaction.atomic
def credential_edit(*, credential: ProviderCredential, api_key: str = "") -> ProviderCredential:
    """Store an added or edited credential (the admin's form); a non-empty key replaces the
    stored one. Enabling, disabling and connection changes are edits too."""
    provider_services.credential_edit(credential=credential, api_key=api_key)
    _changed(credential, sync=True)
    return credential


@transaction.atomic
def credential_limits_set(
    *, credential: ProviderCredential, limits: dict[str, int]
) -> ProviderCredential:
    """Set the operator's free-tier limits of the key ({} keeps the documented ones); routing
    uses them on the next request. Raises ValidationError on a bad limit."""
    validate_limits(limits)
    credential.limits = dict(limits)
    credential.save(update_fields=["limits", "updated_at"])
    _changed(credential, sync=False)
    return credential


@transaction.atomic
def credential_replace_key(*, credential: ProviderCredential, api_key: str) -> ProviderCredential:
    """Put a new key on the credential; the old one is not used again, even from a cache."""
    provider_services.credential_replace_key(credential=credential, api_key=api_key)
    _changed(credential, sync=True)
    return credential


@transaction.atomic
def credential_delete(*, credential: ProviderCredential) -> None:
    """Delete the credential and the models found through it."""
    workspace_id = credential.workspace_id
    provider_services.credential_delete(credential=credential)
    catalog_invalidate(workspace_id)


@transaction.atomic
def credentials_delete(*, credentials: QuerySet[ProviderCredential]) -> int:
    """Delete many credentials at once (the admin's bulk delete); returns how many."""
    workspace_ids = set(credentials.values_list("workspace_id", flat=True))
    deleted = provider_services.credentials_delete(credentials=credentials)
    for workspace_id in sorted(workspace_ids):
        catalog_invalidate(workspace_id)
    return deleted


def credentials_sync_queue(*, credentials: QuerySet[ProviderCredential]) -> list[int]:
    """Queue a model sync of each enabled credential after the commit; returns their ids."""
    ids = list(credentials.filter(enabled=True).values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(partial(_queue, catalog_sync_credential_task, pk))
    return ids


def credential_sync_queue(*, credential: ProviderCredential) -> bool:
    """Queue a model sync of one credential after the commit; False (nothing queued) when it
    is disabled."""
    one = ProviderCredential.objects.filter(pk=credential.pk)
    return bool(credentials_sync_queue(credentials=one))


def credentials_check_queue(*, credentials: QuerySet[ProviderCredential]) -> list[int]:
    """Queue a status check of each credential after the commit; returns their ids."""
    ids = list(credentials.values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(partial(_queue, provider_check_task, pk))
    return ids


def _changed(
    credential: ProviderCredential, *, sync: bool, on_sync_queued: OnQueued | None = None
) -> None:
    catalog_invalidate(credential.workspace_id)
    if sync and credential.enabled:
        job = partial(_queue, catalog_sync_credential_task, credential.pk, on_sync_queued)
        transaction.on_commit(job)


def _queue(task: Task, credential_id: int, on_queued: OnQueued | None = None) -> None:
    """Send the job; a broker outage must not undo the committed change, so it is only logged."""
    try:
        task.delay(credential_id)
    except Exception as error:  # any broker failure: the change is already committed
        logger.warning(
            "could not queue %s for provider credential %s (%s)",
            task.name,
            credential_id,
            type(error).__name__,
        )
        queued = False
    else:
        queued = True
    if on_queued is not None:
        on_queued(queued)

"""Where a credential's model sync stands, for the provider setup page's live card: owed (queued
or running) since the credential was last saved or a sync was asked for, or done with its result.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog.models import CatalogModel, SyncRun
from providers.models import ProviderCredential

QUEUED, RUNNING, DONE, DISABLED = "queued", "running", "done", "disabled"


def credential_sync_status(
    *, credential: ProviderCredential, since: datetime | None = None
) -> dict[str, Any]:
    """The credential's sync phase, state, last sync and free-model count. A sync is owed when no
    run covering it started after its last save (or after `since`, when a sync was asked for)."""
    owed_since = max(filter(None, (credential.updated_at, since)))
    run = _last_run_covering(credential)
    finished = run is not None and run.started_at >= owed_since
    return {
        "id": credential.pk,
        "phase": _phase(credential, finished, owed_since),
        "state": credential.state,
        "state_label": credential.get_state_display(),
        "state_message": credential.state_message,
        "last_sync_at": _iso(credential.last_sync_at),
        "last_sync_error": credential.last_sync_error,
        "models": CatalogModel.objects.filter(credential=credential, is_active=True).count(),
        "result": run.results[credential.name] if finished and run is not None else None,
    }


def _phase(credential: ProviderCredential, finished: bool, owed_since: datetime) -> str:
    if not credential.enabled:
        return DISABLED
    if finished:
        return DONE
    running = SyncRun.objects.filter(
        workspace_id=credential.workspace_id,
        status=SyncRun.Status.RUNNING,
        started_at__gte=owed_since,
    )
    return RUNNING if running.exists() else QUEUED


def _last_run_covering(credential: ProviderCredential) -> SyncRun | None:
    run = (
        SyncRun.objects.filter(workspace_id=credential.workspace_id)
        .exclude(status=SyncRun.Status.RUNNING)
        .filter(results__has_key=credential.name)
        .order_by("-started_at", "-pk")
        .only("started_at", "results")
        .first()
    )
    if run is None or not isinstance(run.results.get(credential.name), dict):
        return None
    return run


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None

"""Catalog discovery (sync), review of drastic sync outcomes, overrides and status checks.

Sync runs per credential: the adapter lists models with a free verdict, only free models of the
categories text / vision / image / speech / embedding / transcription are kept, and they are
upserted in bulk inside one transaction per credential. Models that vanish or turn paid are
deactivated, never deleted. Operator overrides (catalog.overrides) are re-applied on top of
every listing.

A failing provider never empties the catalog: any listing error (auth, 429, 5xx, timeout, junk,
402/410) keeps the previous models and records the sanitized error on the credential and in the
SyncRun; 401/403, 402 and 410 also move the credential's state (auth_failed, payment_required,
retired). Empty listing policy: a listing with *no models at all* while the credential
still has active models is treated as an error too (an outage or a wrong account looks exactly
like this).

Review policy: a non-empty listing that would deactivate MORE than half of the credential's
active free models (a price format change, a free tier ending, a half-broken listing) is held:
the catalog stays as it is, the run and the credential's result say `needs_review` with the
counts, and the change applies when the next sync reaches the same outcome (the same models
removed and added) or an operator accepts it in the admin. Exactly half is not held (1 of 2
models vanishing applies at once); a provider whose only model vanishes is held once (1 of 1
is more than half), so a single odd listing never empties it. An operator who really wants the
models gone at once disables or deletes the credential.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from catalog import metrics
from catalog.listing_cache import catalog_version_key
from catalog.locks import held_lock
from catalog.models import CatalogModel, HeldCatalogChange, SyncRun
from catalog.overrides import (
    OVERRIDABLE,
    clean_overrides,
    effective_fields,
    listed_of,
    listed_part,
)
from catalog.selectors import check_candidates, sync_candidates
from catalog.validation import clean_model_rows
from providers.encryption import SecretUnreadable
from providers.errors import ProviderError, sanitize
from providers.models import ProviderCredential
from providers.parsing import PRICE_UNREADABLE
from providers.registry import adapter_for
from providers.services import credential_check, credential_key_readable, state_for_error
from providers.wire import ModelInfo

logger = logging.getLogger(__name__)

SYNC_ALL_LOCK_SECONDS = 40 * 60  # longer than catalog_sync_all_task's hard time limit
SYNC_CREDENTIAL_LOCK_SECONDS = 10 * 60
CHECK_ALL_LOCK_SECONDS = 12 * 60
BATCH_SIZE = 500
# A listing failure that proves calls cannot work (a bad or unreadable key, 402, 410) moves the
# credential's state as well.
STATE_MOVING_KINDS = frozenset({"auth", "unreadable", "unavailable"})
Progress = Callable[[ProviderCredential, "CredentialSyncResult"], None]


@dataclass
class CredentialSyncResult:
    """What one credential's sync did; `error` is sanitized and safe to show its workspace."""

    provider: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    # Models refused because their price could not be read (a provider format change shows here).
    price_unreadable: int = 0
    error: str = ""
    skipped: bool = False
    needs_review: bool = False  # held: see the review policy in the module docstring
    would_add: int = 0
    would_remove: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def catalog_invalidate(workspace_id: int) -> None:
    """Drop every cached listing of the workspace (after a sync or a credential change)."""

    def bump() -> None:
        cache.set(catalog_version_key(workspace_id), time.time_ns(), None)

    bump()
    transaction.on_commit(bump)  # again after commit, so no reader caches pre-commit rows


def _readable_key(credential: ProviderCredential) -> str:
    """The key, only to scrub it from upstream text; empty when it cannot be decrypted."""
    try:
        return credential.api_key
    except SecretUnreadable:
        return ""


def _list_models(credential: ProviderCredential) -> list[ModelInfo]:
    """The adapter's listing; every failure becomes a sanitized ProviderError."""
    try:
        return adapter_for(credential).list_models()
    except (ProviderError, SoftTimeLimitExceeded):
        raise
    except ValueError:
        raise ProviderError("model listing is not valid JSON", kind="invalid_response") from None
    except Exception as exc:  # a buggy adapter must not stop the other credentials' sync
        logger.warning(
            "model listing of credential %s failed: %s",
            credential.pk,
            sanitize(repr(exc), _readable_key(credential)),
        )
        raise ProviderError(
            f"model listing failed ({type(exc).__name__})", kind="invalid_response"
        ) from None


@dataclass
class _UpsertPlan:
    to_create: list[CatalogModel] = field(default_factory=list)
    to_update: list[CatalogModel] = field(default_factory=list)
    dirty_fields: set[str] = field(default_factory=lambda: {"is_active", "updated_at"})
    reactivated: int = 0
    changed: int = 0


def _plan(
    credential: ProviderCredential,
    existing: dict[str, CatalogModel],
    rows: dict[str, dict[str, Any]],
    now: datetime,
) -> _UpsertPlan:
    """Which rows to create and which to update (only real differences count as a change)."""
    plan = _UpsertPlan()
    for upstream_id, fields in rows.items():
        model = existing.get(upstream_id)
        listed = listed_part(fields)
        if model is None:
            plan.to_create.append(
                CatalogModel(
                    workspace_id=credential.workspace_id,
                    credential=credential,
                    upstream_id=upstream_id,
                    last_seen=now,
                    updated_at=now,
                    listed=listed,
                    **fields,
                )
            )
            continue
        wanted = {**fields, **effective_fields(listed, model.overrides or {}), "listed": listed}
        dirty = {name for name, value in wanted.items() if getattr(model, name) != value}
        if dirty or not model.is_active:
            plan.reactivated += not model.is_active
            plan.changed += bool(dirty) and model.is_active
            plan.dirty_fields |= dirty
            for name in dirty:
                setattr(model, name, wanted[name])
            model.is_active, model.updated_at = True, now
            plan.to_update.append(model)
    return plan


def _existing(credential: ProviderCredential) -> dict[str, CatalogModel]:
    """The credential's rows, locked until the sync commits: an override saved meanwhile waits
    and then builds on the listed values this sync writes (catalog_model_override)."""
    rows = CatalogModel.objects.select_for_update().filter(credential=credential)
    return {m.upstream_id: m for m in rows}


def _upsert(
    credential: ProviderCredential,
    existing: dict[str, CatalogModel],
    rows: dict[str, dict[str, Any]],
    now: datetime,
) -> tuple[int, int, int]:
    """Bulk insert, update and deactivate; returns (added, removed, changed)."""
    plan = _plan(credential, existing, rows, now)
    vanished = [m.pk for uid, m in existing.items() if m.is_active and uid not in rows]
    for start in range(0, len(vanished), BATCH_SIZE):
        CatalogModel.objects.filter(pk__in=vanished[start : start + BATCH_SIZE]).update(
            is_active=False, updated_at=now
        )
    # Only the columns that changed somewhere: each one costs a CASE over the whole batch.
    CatalogModel.objects.bulk_update(
        plan.to_update, sorted(plan.dirty_fields), batch_size=BATCH_SIZE
    )
    CatalogModel.objects.bulk_create(plan.to_create, batch_size=BATCH_SIZE)
    CatalogModel.objects.filter(credential=credential, is_active=True).update(last_seen=now)
    return len(plan.to_create) + plan.reactivated, len(vanished), plan.changed


@dataclass(frozen=True)
class _Review:
    """A sync outcome drastic enough to hold: the counts and what identifies the outcome."""

    active: int
    would_add: int
    would_remove: int
    fingerprint: str


def _review_of(existing: dict[str, CatalogModel], rows: dict[str, Any]) -> _Review | None:
    """The review a listing needs: it would deactivate more than half of the active models."""
    active = {upstream_id for upstream_id, model in existing.items() if model.is_active}
    removed = active - rows.keys()
    if len(removed) * 2 <= len(active):
        return None
    added = rows.keys() - active
    outcome = json.dumps([sorted(removed), sorted(added)]).encode()
    return _Review(len(active), len(added), len(removed), hashlib.sha256(outcome).hexdigest())


def _hold(
    credential: ProviderCredential,
    rows: dict[str, dict[str, Any]],
    review: _Review,
    result: CredentialSyncResult,
) -> None:
    """Keep the catalog, remember the listing, and say so on the credential and the result."""
    HeldCatalogChange.objects.update_or_create(
        credential=credential,
        defaults={
            "fingerprint": review.fingerprint,
            "active_before": review.active,
            "would_add": review.would_add,
            "would_remove": review.would_remove,
            "rows": rows,
            "sync_run": None,
        },
    )
    result.needs_review = True
    result.would_add, result.would_remove = review.would_add, review.would_remove
    message = (
        f"held for review: this listing would deactivate {review.would_remove} of "
        f"{review.active} free models and add {review.would_add}; it applies when the next "
        "sync agrees or an operator accepts it"
    )
    credential.last_sync_error = message
    ProviderCredential.objects.filter(pk=credential.pk).update(last_sync_error=message)


def _apply_or_hold(
    credential: ProviderCredential, rows: dict[str, dict[str, Any]], result: CredentialSyncResult
) -> None:
    """Apply the listing, unless it needs a review no earlier sync agreed with: then hold it."""
    existing = _existing(credential)
    review = _review_of(existing, rows)
    held = HeldCatalogChange.objects.filter(credential=credential).first()
    if review is not None and (held is None or held.fingerprint != review.fingerprint):
        _hold(credential, rows, review, result)
        return
    if held is not None:
        held.delete()  # confirmed by this sync, or no longer needed
    now = timezone.now()
    result.added, result.removed, result.changed = _upsert(credential, existing, rows, now)
    _record_success(credential, now)


def _record_success(credential: ProviderCredential, now: datetime) -> None:
    credential.last_sync_at, credential.last_sync_error = now, ""
    ProviderCredential.objects.filter(pk=credential.pk).update(last_sync_at=now, last_sync_error="")


def _record_failure(credential: ProviderCredential, error: ProviderError, message: str) -> bool:
    """Store the sanitized error; a failure that proves calls cannot work also marks the state.
    True if the state moved."""
    fields: dict[str, Any] = {"last_sync_error": message[:300]}
    if error.kind in STATE_MOVING_KINDS:
        fields.update(
            state=state_for_error(error),
            state_message=message[:300],
            checked_at=timezone.now(),
        )
    state_moved = "state" in fields and credential.state != fields["state"]
    for name, value in fields.items():
        setattr(credential, name, value)
    ProviderCredential.objects.filter(pk=credential.pk).update(**fields)
    return state_moved


def _count_price_unreadable(credential: ProviderCredential, listed: list[ModelInfo]) -> int:
    """How many listed models were refused for an unreadable price; logged so it is noticed."""
    count = sum(info.not_free_reason == PRICE_UNREADABLE for info in listed)
    if count:
        logger.warning(
            "catalog sync of credential %s (%s): %d models refused, price unreadable",
            credential.pk,
            credential.provider,
            count,
        )
    return count


def catalog_sync(*, credential: ProviderCredential) -> CredentialSyncResult:
    """List one credential's models and upsert its free ones; a failure keeps the catalog."""
    result = CredentialSyncResult(provider=credential.provider)
    error_kind = ""
    try:
        listed = _list_models(credential)
        has_active = CatalogModel.objects.filter(credential=credential, is_active=True).exists()
        if not listed and has_active:
            raise ProviderError("provider listed no models; kept the existing ones", kind="empty")
        result.price_unreadable = _count_price_unreadable(credential, listed)
        rows = clean_model_rows(
            listed, credential_name=credential.name, provider=credential.provider
        )
        with transaction.atomic():
            _apply_or_hold(credential, rows, result)
    except ProviderError as exc:
        error_kind = exc.kind
        result.error = sanitize(exc.message, _readable_key(credential)) or "model listing failed"
        logger.info("catalog sync of credential %s failed (%s)", credential.pk, exc.kind)
        if _record_failure(credential, exc, result.error):
            catalog_invalidate(credential.workspace_id)
    _finish_credential(credential, result, error_kind)
    return result


def _finish_credential(
    credential: ProviderCredential, result: CredentialSyncResult, error_kind: str = ""
) -> None:
    if result.added or result.removed or result.changed:
        catalog_invalidate(credential.workspace_id)
    metrics.record_sync(
        credential.provider,
        error_kind=error_kind,
        added=result.added,
        removed=result.removed,
        changed=result.changed,
    )


def _accept_held(credential: ProviderCredential) -> CredentialSyncResult:
    """Apply the credential's held listing as it was reviewed."""
    result = CredentialSyncResult(provider=credential.provider)
    with transaction.atomic():
        held = HeldCatalogChange.objects.select_for_update().filter(credential=credential).first()
        if held is None:
            result.error = "no held change to accept (a later sync applied or replaced it)"
            return result
        now = timezone.now()
        result.added, result.removed, result.changed = _upsert(
            credential, _existing(credential), held.rows, now
        )
        _record_success(credential, now)
        held.delete()
    _finish_credential(credential, result)
    return result


def catalog_held_accept(*, credential: ProviderCredential) -> SyncRun | None:
    """An operator accepts the credential's held change: it applies now, recorded as a run
    (trigger "review"). None when a sync of the credential is running (try again)."""
    with _credential_sync_lock(credential, None) as held:
        if not held:
            return None
        return _sync_workspace(
            credential.workspace_id, [credential], trigger="review", sync=_accept_held
        )


@transaction.atomic
def catalog_model_override(
    *, model: CatalogModel, overrides: dict[str, Any], hidden: bool
) -> CatalogModel:
    """Set an operator's overrides (replacing earlier ones) and the hidden flag; the effective
    columns change at once and every cached listing and route of the workspace is dropped."""
    overrides = clean_overrides(overrides)
    listed = listed_of(CatalogModel.objects.select_for_update().get(pk=model.pk))
    model.overrides = overrides
    model.listed, model.hidden, model.updated_at = listed, hidden, timezone.now()
    for name, value in effective_fields(listed, model.overrides).items():
        setattr(model, name, value)
    model.save(update_fields=["listed", "overrides", "hidden", "updated_at", *OVERRIDABLE])
    logger.info("catalog model %s: overrides set (hidden=%s)", model.pk, hidden)
    catalog_invalidate(model.workspace_id)
    return model


def _sync_locked(
    credential: ProviderCredential, lock_owner: str | None = None
) -> CredentialSyncResult | None:
    """catalog_sync under the credential's own lock; None when another sync holds it."""
    with _credential_sync_lock(credential, lock_owner) as held:
        return catalog_sync(credential=credential) if held else None


def _credential_sync_lock(
    credential: ProviderCredential, lock_owner: str | None
) -> AbstractContextManager[bool]:
    """The one lock every sync of this credential takes, whichever path starts it."""
    return held_lock(
        f"catalog-sync:credential:{credential.pk}",
        timeout=SYNC_CREDENTIAL_LOCK_SECONDS,
        owner=lock_owner,
    )


def _finish(run: SyncRun, results: dict[str, dict[str, Any]]) -> SyncRun:
    errors = [r for r in results.values() if r["error"]]
    if errors and len(errors) == len(results):
        run.status = SyncRun.Status.FAILED
    elif any(r["needs_review"] for r in results.values()):
        run.status = SyncRun.Status.NEEDS_REVIEW
    elif errors:
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.OK
    run.results, run.finished_at = results, timezone.now()
    run.save(update_fields=["status", "results", "finished_at"])
    return run


def _sync_workspace(
    workspace_id: int,
    credentials: Iterable[ProviderCredential],
    *,
    trigger: str,
    on_progress: Progress | None = None,
    sync: Callable[[ProviderCredential], CredentialSyncResult | None] = _sync_locked,
) -> SyncRun:
    """One SyncRun over some credentials of a workspace, finished even if the worker dies."""
    run = SyncRun.objects.create(workspace_id=workspace_id, trigger=trigger)
    results: dict[str, dict[str, Any]] = {}
    try:
        for credential in credentials:
            result = sync(credential) or CredentialSyncResult(
                provider=credential.provider, skipped=True
            )
            results[credential.name] = result.as_dict()
            if result.needs_review:
                HeldCatalogChange.objects.filter(credential=credential).update(sync_run=run)
            if on_progress:
                on_progress(credential, result)
    except BaseException:  # time limit or crash: the run must not stay "running" forever
        run.status, run.results, run.finished_at = SyncRun.Status.FAILED, results, timezone.now()
        run.save(update_fields=["status", "results", "finished_at"])
        raise
    return _finish(run, results)


def sync_runs_reap_stale() -> int:
    """Mark runs still "running" past any task's hard time limit as failed (a killed worker
    cannot finish its own run); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=SYNC_ALL_LOCK_SECONDS)
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING, started_at__lt=cutoff).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now()
    )


def catalog_sync_all(
    *,
    workspace_id: int | None = None,
    provider: str | None = None,
    trigger: str = "beat",
    on_progress: Progress | None = None,
    lock_owner: str | None = None,
) -> list[SyncRun] | None:
    """Sync every enabled credential (optionally of one workspace / provider); None if locked.

    One SyncRun per workspace, so a workspace's run never holds another workspace's errors.
    `lock_owner` is the Celery task id, so a redelivered task takes back its own locks.
    """
    lock = f"catalog-sync:all:{workspace_id or '*'}:{provider or '*'}"
    with held_lock(lock, timeout=SYNC_ALL_LOCK_SECONDS, owner=lock_owner) as held:
        if not held:
            return None
        sync_runs_reap_stale()
        credentials = sync_candidates(workspace_id=workspace_id, provider=provider)
        return [
            _sync_workspace(
                ws_id,
                group,
                trigger=trigger,
                on_progress=on_progress,
                sync=lambda c: _sync_locked(c, lock_owner),
            )
            for ws_id, group in groupby(credentials, key=lambda c: c.workspace_id)
        ]


def catalog_sync_credential(
    *, credential: ProviderCredential, trigger: str = "credential", lock_owner: str | None = None
) -> SyncRun | None:
    """Sync one credential (after it was saved, or on demand); None if it is already syncing."""
    with _credential_sync_lock(credential, lock_owner) as held:
        if not held:
            return None
        return _sync_workspace(
            credential.workspace_id,
            [credential],
            trigger=trigger,
            sync=lambda c: catalog_sync(credential=c),
        )


def provider_check(*, credential: ProviderCredential) -> ProviderCredential:
    """Probe the credential cheaply (providers.services.credential_check stores the state)."""
    state_before = credential.state
    credential_check(credential=credential)
    metrics.record_check(credential.provider, credential.state)
    if credential.state != state_before:
        catalog_invalidate(credential.workspace_id)
    return credential


def provider_check_all(
    *,
    workspace_id: int | None = None,
    on_progress: Callable[[ProviderCredential], None] | None = None,
    lock_owner: str | None = None,
) -> list[ProviderCredential] | None:
    """Check every enabled credential (optionally of one workspace); None if locked."""
    with held_lock(
        f"provider-check:all:{workspace_id or '*'}",
        timeout=CHECK_ALL_LOCK_SECONDS,
        owner=lock_owner,
    ) as held:
        if not held:
            return None
        checked = []
        for credential in check_candidates(workspace_id=workspace_id):
            checked.append(provider_check(credential=credential))
            if on_progress:
                on_progress(credential)
        return checked


def provider_recheck_unreadable(
    *, lock_owner: str | None = None
) -> list[ProviderCredential] | None:
    """Check at once each credential marked unreadable whose key decrypts again (the right
    encryption key is back), rather than at the next scheduled check; None if locked.

    Run when a Celery worker starts (catalog.tasks): restoring a key means restarting the
    processes with it, so its credentials work again within seconds of the restart.
    """
    with held_lock(
        "provider-check:unreadable", timeout=CHECK_ALL_LOCK_SECONDS, owner=lock_owner
    ) as held:
        if not held:
            return None
        unreadable = check_candidates(state=ProviderCredential.State.UNREADABLE)
        readable = [c for c in unreadable if credential_key_readable(c)]
        if readable:
            logger.info("%d unreadable credentials decrypt again: checking them", len(readable))
        return [provider_check(credential=credential) for credential in readable]

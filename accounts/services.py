"""Workspaces and OpenProvider API keys.

Key lookups are cached twice: in the shared cache (API_KEY_CACHE_SECONDS) and for
API_KEY_LOCAL_CACHE_SECONDS in each process, so most /v1 requests authenticate without a round
trip. The shared entry `apikey:<hash>` holds the key, or a marker:

- REVOKED, written by a revocation (for REVOKED_MARKER_SECONDS): the key is refused without a
  query, and since lookups write a key back with `add` (never `set`), a request that read the
  key from the database just before the revocation cannot put it back afterwards;
- CHANGED, written when a key's limits or workspace change (for API_KEY_CACHE_SECONDS): lookups
  read the database and cache nothing until it expires, for the same reason;
- UNKNOWN, the negative cache (API_KEY_NEGATIVE_CACHE_SECONDS): a well-formed key that matches
  no active key is refused without a query; creating a key deletes its entry.

A change clears the local copy in the process that made it (a lookup that started before it
does not write its copy back); other processes see it within the local TTL. When the shared
cache is down, keys are looked up in the database (authentication keeps working; the rate
limiter fails closed).
"""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from config.infra.localcache import LocalCache

from .clients import auth_failure_record, auth_failures_check
from .models import ApiKey, Membership, User, Workspace

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "opk_live_"
API_KEY_PATTERN = re.compile(r"^opk_live_[A-Za-z0-9_-]{43,128}$")
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8

LOCAL_KEYS = LocalCache("api-keys", ttl=lambda: settings.API_KEY_LOCAL_CACHE_SECONDS)
# Bumped by every key change in this process: a lookup that started before one keeps no copy.
_local_changes = 0

REVOKED, CHANGED, UNKNOWN = "revoked", "changed", "unknown"
# A revoked key never comes back, so its marker may outlive any lookup still in flight.
REVOKED_MARKER_SECONDS = 24 * 3600
# Keys whose last use this process recorded within the resolution window.
LOCAL_TOUCHED = LocalCache(
    "api-keys-used", ttl=lambda: settings.API_KEY_LAST_USED_RESOLUTION_SECONDS
)


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key: `plaintext` exists only here and is shown to the user once."""

    api_key: ApiKey
    plaintext: str


def workspace_create_personal(*, user: User) -> Workspace:
    workspace = Workspace.objects.create(name=f"{user.email}'s workspace")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    return workspace


def workspace_for_user(*, user: User) -> Workspace:
    workspace = user.workspace
    if workspace is None:  # users made before workspaces existed, or by raw ORM calls
        workspace = workspace_create_personal(user=user)
    return workspace


def api_key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_key_create(
    *, workspace: Workspace, name: str, created_by: User | None = None
) -> CreatedApiKey:
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        created_by=created_by,
        name=name.strip() or "Default key",
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        key_hash=api_key_hash(plaintext),
    )
    # A negative entry for this hash cannot predate a random key, but a new key must never be
    # refused: drop it anyway (after commit too, when the key becomes visible to lookups).
    transaction.on_commit(lambda: _cache_delete(api_key.key_hash))
    _cache_delete(api_key.key_hash)
    return CreatedApiKey(api_key=api_key, plaintext=plaintext)


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    transaction.on_commit(lambda: _mark(api_key.key_hash, REVOKED, REVOKED_MARKER_SECONDS))
    _mark(api_key.key_hash, REVOKED, REVOKED_MARKER_SECONDS)
    return api_key


def api_key_forget(*, api_key: ApiKey) -> None:
    """Drop a key from the auth cache (after its limits or workspace changed)."""
    _mark(api_key.key_hash, CHANGED, settings.API_KEY_CACHE_SECONDS)


def workspace_keys_forget(*, workspace: Workspace) -> None:
    """Drop every key of a workspace from the auth cache (after the workspace changed)."""
    key_hashes = list(ApiKey.objects.filter(workspace=workspace).values_list("key_hash", flat=True))
    _forget_locally(key_hashes)
    try:
        cache.set_many(
            {_cache_key(key_hash): CHANGED for key_hash in key_hashes},
            settings.API_KEY_CACHE_SECONDS,
        )
    except Exception:
        logger.warning("auth cache unavailable; workspace keys not marked")


def _mark(key_hash: str, marker: str, seconds: float) -> None:
    """Replace the shared entry by a marker that lookups cannot overwrite (they use `add`)."""
    _forget_locally([key_hash])
    try:
        cache.set(_cache_key(key_hash), marker, seconds)
    except Exception:
        logger.warning("auth cache unavailable; key change not marked")


def _forget_locally(key_hashes: list[str]) -> None:
    global _local_changes
    _local_changes += 1
    for key_hash in key_hashes:
        LOCAL_KEYS.delete(key_hash)


def _cache_delete(key_hash: str) -> None:
    try:
        cache.delete(_cache_key(key_hash))
    except Exception:
        logger.warning("auth cache unavailable; negative entry not cleared")


def api_key_authenticate(plaintext: str, *, client: str | None = None) -> ApiKey | None:
    """The active key for this plaintext, or None. Cached briefly; revocation clears the cache.

    With `client` (its address), failures are counted per address and past the limit raise
    AuthFailuresExceeded, before any database lookup (accounts/clients.py).
    """
    if not API_KEY_PATTERN.fullmatch(plaintext):
        auth_failure_record(client)
        return None
    key_hash = api_key_hash(plaintext)
    api_key = LOCAL_KEYS.get(key_hash)
    if api_key is None:
        changes_before = _local_changes
        api_key = _shared_lookup(key_hash, client)
        if api_key is None:
            auth_failure_record(client)
            return None
        if changes_before == _local_changes:  # no key changed in this process since the read
            LOCAL_KEYS.set(key_hash, api_key)
    _touch_last_used(api_key)
    return api_key


def _shared_lookup(key_hash: str, client: str | None) -> ApiKey | None:
    """The shared cache, else the database; a cache outage only costs the DB query."""
    try:
        cached = cache.get(_cache_key(key_hash))
    except Exception:
        logger.warning("auth cache unavailable; looking the key up in the database")
        return _database_lookup(key_hash)
    if isinstance(cached, ApiKey):
        return cached
    if cached in (REVOKED, UNKNOWN):
        return None
    auth_failures_check(client)  # an address flooding made-up keys gets no more queries
    api_key = _database_lookup(key_hash)
    if cached is None:  # under a CHANGED marker nothing is cached until it expires
        _cache_add(key_hash, api_key)
    return api_key


def _database_lookup(key_hash: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=key_hash, revoked_at__isnull=True, workspace__is_active=True)
        .first()
    )


def _cache_add(key_hash: str, api_key: ApiKey | None) -> None:
    """Cache a lookup's result unless a marker was written since the read (`add`, not `set`)."""
    value: ApiKey | str
    if api_key is None:
        value, seconds = UNKNOWN, settings.API_KEY_NEGATIVE_CACHE_SECONDS
    else:
        value, seconds = api_key, settings.API_KEY_CACHE_SECONDS
    try:
        cache.add(_cache_key(key_hash), value, seconds)
    except Exception:
        logger.warning("auth cache unavailable; key not cached")


def _touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once per resolution window, so the hot path rarely writes."""
    if LOCAL_TOUCHED.get(api_key.pk):
        return
    LOCAL_TOUCHED.set(api_key.pk, True)
    window = settings.API_KEY_LAST_USED_RESOLUTION_SECONDS
    try:
        first_in_window = cache.add(f"apikey-used:{api_key.pk}", 1, window)
    except Exception:  # no shared marker: this process's own marker still bounds the writes
        first_in_window = True
    if first_in_window:
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now

"""Workspaces and OpenProvider API keys.

Key lookups are cached twice: in the shared cache (API_KEY_CACHE_SECONDS; revocation deletes the
entry) and for API_KEY_LOCAL_CACHE_SECONDS in each process, so most /v1 requests authenticate
without a round trip. A revocation, limit or workspace change clears both in the process that
made it; other processes see it within the local TTL. When the shared cache is down, keys are
looked up in the database (authentication keeps working; the rate limiter fails closed).
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

from .models import ApiKey, Membership, User, Workspace

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "opk_live_"
API_KEY_PATTERN = re.compile(r"^opk_live_[A-Za-z0-9_-]{43,128}$")
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8

LOCAL_KEYS = LocalCache("api-keys", ttl=lambda: settings.API_KEY_LOCAL_CACHE_SECONDS)
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
    return CreatedApiKey(api_key=api_key, plaintext=plaintext)


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    transaction.on_commit(lambda: _forget(api_key.key_hash))
    _forget(api_key.key_hash)
    return api_key


def api_key_forget(*, api_key: ApiKey) -> None:
    """Drop a key from the auth cache (after its limits or workspace changed)."""
    _forget(api_key.key_hash)


def workspace_keys_forget(*, workspace: Workspace) -> None:
    """Drop every key of a workspace from the auth cache (after the workspace changed)."""
    key_hashes = list(ApiKey.objects.filter(workspace=workspace).values_list("key_hash", flat=True))
    for key_hash in key_hashes:
        LOCAL_KEYS.delete(key_hash)
    cache.delete_many([_cache_key(key_hash) for key_hash in key_hashes])


def _forget(key_hash: str) -> None:
    LOCAL_KEYS.delete(key_hash)
    cache.delete(_cache_key(key_hash))


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    """The active key for this plaintext, or None. Cached briefly; revocation clears the cache."""
    if not API_KEY_PATTERN.fullmatch(plaintext):
        return None
    key_hash = api_key_hash(plaintext)
    api_key = LOCAL_KEYS.get(key_hash)
    if api_key is None:
        api_key = _shared_lookup(key_hash)
        if api_key is None:
            return None
        LOCAL_KEYS.set(key_hash, api_key)
    _touch_last_used(api_key)
    return api_key


def _shared_lookup(key_hash: str) -> ApiKey | None:
    """The shared cache, else the database; a cache outage only costs the DB query."""
    try:
        api_key = cache.get(_cache_key(key_hash))
    except Exception:
        logger.warning("auth cache unavailable; looking the key up in the database")
        api_key, cache_up = None, False
    else:
        cache_up = True
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("workspace")
            .filter(key_hash=key_hash, revoked_at__isnull=True, workspace__is_active=True)
            .first()
        )
        if api_key is not None and cache_up:
            try:
                cache.set(_cache_key(key_hash), api_key, settings.API_KEY_CACHE_SECONDS)
            except Exception:
                logger.warning("auth cache unavailable; key not cached")
    return api_key


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

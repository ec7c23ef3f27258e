"""Workspaces and OpenProvider API keys."""

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import ApiKey, Membership, User, Workspace

API_KEY_PREFIX = "opk_live_"
API_KEY_PATTERN = re.compile(r"^opk_live_[A-Za-z0-9_-]{43,128}$")
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


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
    transaction.on_commit(lambda: cache.delete(_cache_key(api_key.key_hash)))
    cache.delete(_cache_key(api_key.key_hash))
    return api_key


def api_key_forget(*, api_key: ApiKey) -> None:
    """Drop a key from the auth cache (after its limits or workspace changed)."""
    cache.delete(_cache_key(api_key.key_hash))


def workspace_keys_forget(*, workspace: Workspace) -> None:
    """Drop every key of a workspace from the auth cache (after the workspace changed)."""
    key_hashes = ApiKey.objects.filter(workspace=workspace).values_list("key_hash", flat=True)
    cache.delete_many([_cache_key(key_hash) for key_hash in key_hashes])


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    """The active key for this plaintext, or None. Cached briefly; revocation clears the cache."""
    if not API_KEY_PATTERN.fullmatch(plaintext):
        return None
    key_hash = api_key_hash(plaintext)
    api_key = cache.get(_cache_key(key_hash))
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("workspace")
            .filter(key_hash=key_hash, revoked_at__isnull=True, workspace__is_active=True)
            .first()
        )
        if api_key is None:
            return None
        cache.set(_cache_key(key_hash), api_key, settings.API_KEY_CACHE_SECONDS)
    _touch_last_used(api_key)
    return api_key


def _touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once per resolution window, so the hot path rarely writes."""
    window = settings.API_KEY_LAST_USED_RESOLUTION_SECONDS
    if cache.add(f"apikey-used:{api_key.pk}", 1, window):
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now

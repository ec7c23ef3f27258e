"""Credential edits drop the workspace's cached routes and listings, whatever made them.

The gateway caches a workspace's models with their credentials (and the adapter built from the
decrypted key) until the catalog version changes. The web views bump it themselves; this also
covers the admin, services and the shell, so a replaced key is used on the next request (SEC-08).
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from providers.models import ProviderCredential

from .services import catalog_invalidate

# Saves touching only these come from checks and syncs; provider_check invalidates on a change.
STATUS_FIELDS = frozenset(
    {"state", "state_message", "checked_at", "check_latency_ms", "last_sync_at", "last_sync_error"}
)


@receiver(post_save, sender=ProviderCredential, dispatch_uid="catalog-credential-saved")
def credential_saved(
    sender: type, instance: ProviderCredential, update_fields: Any = None, **kwargs: Any
) -> None:
    if update_fields is not None and set(update_fields) <= STATUS_FIELDS:
        return
    catalog_invalidate(instance.workspace_id)


@receiver(post_delete, sender=ProviderCredential, dispatch_uid="catalog-credential-deleted")
def credential_deleted(sender: type, instance: ProviderCredential, **kwargs: Any) -> None:
    catalog_invalidate(instance.workspace_id)

"""Out-of-process helper of the worker-crash test: seed, snapshot, enqueue, read the lock.

Runs with the same environment as the worker (database, cache, broker), so it sees exactly
what the worker sees: `python tests/catalog/crash_probe.py COMMAND [ARGS]`, JSON on stdout.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402

from accounts.models import User  # noqa: E402
from catalog.models import CatalogModel, SyncRun  # noqa: E402
from catalog.services import catalog_sync  # noqa: E402
from catalog.tasks import catalog_sync_credential_task  # noqa: E402
from providers.models import ProviderCredential  # noqa: E402


def seed(base_url: str) -> dict:
    user = User.objects.create_user("job06@example.com", password="job06 password 123")
    credential = ProviderCredential.objects.create(
        workspace=user.workspace, provider="custom", name="stall", api_key="", base_url=base_url
    )
    result = catalog_sync(credential=credential)
    return {"credential_id": credential.pk, "error": result.error, "added": result.added}


def snapshot(credential_id: str) -> dict:
    rows = CatalogModel.objects.filter(credential_id=credential_id).order_by("upstream_id")
    credential = ProviderCredential.objects.get(pk=credential_id)
    return {
        "models": [
            [m.upstream_id, m.is_active, m.updated_at.isoformat(), m.last_seen.isoformat()]
            for m in rows
        ],
        "last_sync_at": credential.last_sync_at.isoformat() if credential.last_sync_at else None,
        "runs": list(SyncRun.objects.order_by("pk").values_list("status", flat=True)),
    }


def enqueue(credential_id: str) -> dict:
    return {"task_id": catalog_sync_credential_task.delay(int(credential_id)).id}


def lock(credential_id: str) -> dict:
    return {"owner": cache.get(f"lock:catalog-sync:credential:{credential_id}")}


COMMANDS = {"seed": seed, "snapshot": snapshot, "enqueue": enqueue, "lock": lock}

if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.stdout.write(json.dumps(COMMANDS[command](*args)))

"""One writer process of the SQLite concurrency test: `web` or `worker` role.

`web` does what each /v1 request does (insert a request-log row, then finalize it); `worker`
runs catalog syncs that rewrite 200 models in one transaction. Each runs for SECONDS and
prints {"writes": n, "errors": [...]} as JSON.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import OperationalError  # noqa: E402

from accounts.models import User  # noqa: E402
from catalog import services  # noqa: E402
from gateway.requestlog.services import LogOutcome, request_log_finish, request_log_start  # noqa: E402
from providers.models import ProviderCredential  # noqa: E402
from providers.wire import ModelInfo  # noqa: E402


def web(workspace, deadline: float) -> int:
    writes = 0
    while time.monotonic() < deadline:
        request_id = f"gen-{os.getpid()}-{writes}"
        request_log_start(
            request_id=request_id,
            workspace=workspace,
            api_key=None,
            endpoint="chat/completions",
            requested_model="m",
            streamed=False,
        )
        request_log_finish(request_id, LogOutcome(status="success", http_status=200))
        writes += 2
    return writes


class ChangingListing:
    round = 0

    def list_models(self) -> list[ModelInfo]:
        ChangingListing.round += 1
        return [
            ModelInfo(
                upstream_id=f"m-{i:03d}",
                name=f"m-{i:03d}",
                category="text",
                free=True,
                free_evidence="self-hosted",
                context_length=1000 + ChangingListing.round,
            )
            for i in range(200)
        ]


def worker(workspace, deadline: float) -> int:
    credential, _ = ProviderCredential.objects.get_or_create(
        workspace=workspace,
        provider="custom",
        name="writer",
        defaults={"api_key": "", "base_url": "http://127.0.0.1:9/v1"},
    )
    services.adapter_for = lambda _credential: ChangingListing()
    writes = 0
    while time.monotonic() < deadline:
        result = services.catalog_sync(credential=credential)
        if result.error:
            raise RuntimeError(result.error)
        writes += 1
    return writes


if __name__ == "__main__":
    role, seconds = sys.argv[1], float(sys.argv[2])
    workspace = User.objects.get(email="writers@example.com").workspace
    errors: list[str] = []
    writes = 0
    try:
        writes = {"web": web, "worker": worker}[role](workspace, time.monotonic() + seconds)
    except OperationalError as exc:
        errors.append(str(exc))
    sys.stdout.write(json.dumps({"writes": writes, "errors": errors}))

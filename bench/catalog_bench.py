"""Catalog benchmark: /v1/models over 10,000 models, and a sync of 15 providers x 200 models.

Runs against a fresh SQLite file in a temporary directory (set BENCH_USE_CONFIGURED_DB=1 to use
DATABASE_URL instead) with the configured cache. Upstream listings are replayed with `responses`
(no network). Usage: .venv/bin/python bench/catalog_bench.py
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory(prefix="catalog-bench-")
if not os.environ.get("BENCH_USE_CONFIGURED_DB"):
    os.environ["DATABASE_URL"] = f"sqlite:///{TMP.name}/bench.sqlite3"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DEBUG", "false")  # production-like request handling
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain http
# Without REDIS_URL: the test settings' local-memory cache (no server to start for a bench).
os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", "config.settings" if os.environ.get("REDIS_URL") else "tests.settings"
)

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for an API bench

django.setup()

import responses  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from catalog import listing_cache as listing  # noqa: E402
from catalog.models import CatalogModel  # noqa: E402
from catalog.services import catalog_invalidate, catalog_sync_all  # noqa: E402
from providers.models import ProviderCredential  # noqa: E402

LISTING_MODELS = 10_000
LISTING_CREDENTIALS = 10
SYNC_PROVIDERS = 15
SYNC_MODELS = 200
WARM_REQUESTS = 300
COLD_REQUESTS = 20


def percentile(samples: list[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def seed_listing_workspace() -> tuple[Client, int]:
    user = User.objects.create_user("bench-listing@example.com", password="bench-password-1")
    workspace = user.workspace
    now = timezone.now()
    per_credential = LISTING_MODELS // LISTING_CREDENTIALS
    for c in range(LISTING_CREDENTIALS):
        credential = ProviderCredential.objects.create(
            workspace=workspace, provider="custom", name=f"lab{c}", base_url="http://lab.test/v1"
        )
        CatalogModel.objects.bulk_create(
            [
                CatalogModel(
                    workspace=workspace,
                    credential=credential,
                    provider="custom",
                    public_id=f"lab{c}/org/model-{i:05d}",
                    upstream_id=f"org/model-{i:05d}",
                    name=f"Model {i}",
                    description="A free model used by the catalog benchmark.",
                    category=("text", "vision", "image", "speech")[i % 4],
                    context_length=131072,
                    max_output_tokens=8192,
                    capabilities={"tools": True, "streaming": True, "vision": i % 4 == 1},
                    free_evidence="self-hosted",
                    last_seen=now,
                    updated_at=now,
                )
                for i in range(per_credential)
            ],
            batch_size=1000,
        )
    key = api_key_create(workspace=workspace, name="bench")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}"), workspace.pk


def timed_get(client: Client, path: str) -> float:
    """Milliseconds for one request through the whole Django stack (middleware, auth, view)."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed


def bench_listing() -> None:
    """warm: body cached; expired: body past its TTL, fragments cached; cold: version bumped."""
    client, workspace_id = seed_listing_workspace()
    for path in ("/v1/models", "/v1/models?category=text"):
        cold = []
        for _ in range(COLD_REQUESTS):
            catalog_invalidate(workspace_id)
            cold.append(timed_get(client, path))
        listing.LISTING_TTL_SECONDS = -1  # every request re-renders from cached fragments
        catalog_invalidate(workspace_id)
        client.get(path)
        expired = [timed_get(client, path) for _ in range(COLD_REQUESTS)]
        listing.LISTING_TTL_SECONDS = 5
        client.get(path)
        warm = [timed_get(client, path) for _ in range(WARM_REQUESTS)]
        response = client.get(path)
        print(
            f"GET {path}: {len(response.json()['data'])} entries, "
            f"{len(response.content) / 1e6:.2f} MB\n"
            f"  warm    p50 {percentile(warm, 50):7.2f} ms  p99 {percentile(warm, 99):7.2f} ms\n"
            f"  expired p50 {percentile(expired, 50):7.2f} ms  "
            f"p99 {percentile(expired, 99):7.2f} ms\n"
            f"  cold    p50 {percentile(cold, 50):7.2f} ms  p99 {percentile(cold, 99):7.2f} ms"
        )


def listing_payload(*, changed: bool) -> dict:
    return {
        "object": "list",
        "data": [
            {
                "id": f"org/model-{i:04d}",
                "object": "model",
                "owned_by": "bench",
                "context_length": 65536 if changed and i % 10 == 0 else 32768,
            }
            for i in range(SYNC_MODELS)
        ],
    }


def bench_sync() -> None:
    user = User.objects.create_user("bench-sync@example.com", password="bench-password-1")
    for p in range(SYNC_PROVIDERS):
        ProviderCredential.objects.create(
            workspace=user.workspace,
            provider="custom",
            name=f"provider{p}",
            base_url=f"http://provider{p}.bench.test/v1",
        )
    for label, changed in (
        ("first sync", False),
        ("re-sync, no change", False),
        ("re-sync, 10% changed", True),
    ):
        with responses.RequestsMock() as mock:
            for p in range(SYNC_PROVIDERS):
                mock.get(
                    f"http://provider{p}.bench.test/v1/models",
                    json=listing_payload(changed=changed),
                )
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                (run,) = catalog_sync_all(workspace_id=user.workspace.pk, trigger="bench")
                wall = (time.perf_counter() - started) * 1000
        totals = [sum(r[k] for r in run.results.values()) for k in ("added", "removed", "changed")]
        errors = [r["error"] for r in run.results.values() if r["error"]]
        db_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(
            f"sync {SYNC_PROVIDERS}x{SYNC_MODELS} ({label}): {len(queries)} queries "
            f"({len(queries) / SYNC_PROVIDERS:.1f}/provider), DB {db_ms:.0f} ms, "
            f"wall {wall:.0f} ms, added/removed/changed {totals}, errors {len(errors)}"
        )


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{os.cpu_count()} CPUs, {model}; DB {connection.vendor}; cache {_cache_backend()}"


def _cache_backend() -> str:
    from django.conf import settings

    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def main() -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    print(f"machine: {machine()}")
    bench_listing()
    bench_sync()


if __name__ == "__main__":
    main()

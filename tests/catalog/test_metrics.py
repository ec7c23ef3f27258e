"""Catalog syncs and status checks show up at /metrics, per provider and result."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.services import catalog_sync, provider_check
from providers.errors import ProviderError
from tests.catalog.factories import models_named
from tests.metrics_support import METRICS_TOKEN, sample, scrape

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.OPENPROVIDER_METRICS_TOKEN = METRICS_TOKEN


def test_a_sync_counts_its_result_and_model_changes(client, stub_adapter, custom_credential):
    stub_adapter.models = models_named(3)
    before = scrape(client)

    catalog_sync(credential=custom_credential)

    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("openprovider_catalog_syncs_total", provider="custom", result="ok") == 1
    changed = "openprovider_catalog_models_changed_total"
    assert moved(changed, provider="custom", change="added") == 3


def test_a_failed_sync_counts_its_error_kind(client, stub_adapter, custom_credential):
    stub_adapter.error = ProviderError("upstream said 503", kind="upstream", status=503)
    before = scrape(client)

    catalog_sync(credential=custom_credential)

    name, labels = "openprovider_catalog_syncs_total", {"provider": "custom", "result": "upstream"}
    assert sample(scrape(client), name, **labels) == sample(before, name, **labels) + 1


def test_a_status_check_counts_the_resulting_state(client, custom_credential):
    before = scrape(client)

    checked = provider_check(credential=custom_credential)  # no upstream registered: down

    assert checked.state == "down"
    name, labels = "openprovider_status_checks_total", {"provider": "custom", "state": "down"}
    assert sample(scrape(client), name, **labels) == sample(before, name, **labels) + 1


MULTIPROCESS_SCRIPT = """
import django, sys
django.setup()
from catalog import metrics
from config.infra.metrics import exposition
if sys.argv[1] == "record":
    metrics.record_sync("groq", error_kind="", added=2, removed=0, changed=0)
else:
    sys.stdout.write(exposition()[0].decode())
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    """Two processes record (like two workers); a third renders the sum, as /metrics does."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(mode: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_SCRIPT, mode],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    run("record")
    run("record")
    text = run("render")

    assert sample(text, "openprovider_catalog_syncs_total", provider="groq", result="ok") == 2
    name = "openprovider_catalog_models_changed_total"
    assert sample(text, name, provider="groq", change="added") == 4

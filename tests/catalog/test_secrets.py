"""The provider key never leaks into SyncRun results, credential fields or logs."""

import json
import logging

import pytest
import requests

from catalog.models import SyncRun
from catalog.services import catalog_sync_all, provider_check
from providers.models import ProviderCredential
from tests.catalog.factories import CUSTOM_KEY, CUSTOM_MODELS_URL

ECHOES = {
    "401-echo": {"status": 401, "json": {"error": {"message": f"bad key {CUSTOM_KEY}"}}},
    "500-echo": {"status": 500, "json": {"error": {"message": f"failed for {CUSTOM_KEY}"}}},
    "429-echo": {"status": 429, "json": {"detail": f"Bearer {CUSTOM_KEY} over quota"}},
    "html-echo": {"status": 200, "body": f"<html>{CUSTOM_KEY}</html>"},
    "connection": {"body": requests.exceptions.ConnectionError(f"http://x/?key={CUSTOM_KEY}")},
}


@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
def test_the_key_never_appears_in_results_fields_or_logs(
    custom_credential, http_mock, caplog, answer
):
    caplog.set_level(logging.DEBUG)
    http_mock.get(CUSTOM_MODELS_URL, **answer)

    catalog_sync_all()
    provider_check(credential=custom_credential)

    credential = ProviderCredential.objects.get(pk=custom_credential.pk)
    run = SyncRun.objects.get()
    assert run.results["homelab"]["error"]
    assert CUSTOM_KEY not in json.dumps(run.results)
    assert CUSTOM_KEY not in credential.last_sync_error
    assert CUSTOM_KEY not in credential.state_message
    assert CUSTOM_KEY not in caplog.text

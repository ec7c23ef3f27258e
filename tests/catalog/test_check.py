"""provider_check: a cheap probe that stores state, latency and a sanitized message."""

import pytest
import requests

from catalog.services import provider_check, provider_check_all
from catalog.tasks import provider_check_all_task, provider_check_task
from providers.models import ProviderCredential
from tests.catalog.factories import CUSTOM_KEY, CUSTOM_MODELS_URL, make_credential

State = ProviderCredential.State

OUTCOMES = {
    "ok": ({"status": 200, "json": {"data": []}}, State.OK),
    "401": ({"status": 401, "json": {"error": {"message": "Invalid API Key"}}}, State.AUTH_FAILED),
    "403": ({"status": 403, "json": {"error": {"message": "nope"}}}, State.AUTH_FAILED),
    "429": ({"status": 429, "json": {"error": {"message": "slow"}}}, State.RATE_LIMITED),
    "500": ({"status": 500, "json": {"error": {"message": "boom"}}}, State.DOWN),
    "502-html": ({"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"}, State.DOWN),
    "402": ({"status": 402, "json": {"error": {"message": "pay"}}}, State.PAYMENT_REQUIRED),
    "410": ({"status": 410, "json": {"error": {"message": "gone"}}}, State.RETIRED),
    "timeout": ({"body": requests.exceptions.ConnectTimeout("slow")}, State.DOWN),
}


@pytest.mark.parametrize(("answer", "state"), OUTCOMES.values(), ids=OUTCOMES.keys())
def test_check_stores_the_state_the_probe_implies(custom_credential, http_mock, answer, state):
    http_mock.get(CUSTOM_MODELS_URL, **answer)

    provider_check(credential=custom_credential)

    custom_credential.refresh_from_db()
    assert custom_credential.state == state
    assert custom_credential.checked_at is not None
    assert custom_credential.check_latency_ms is not None
    assert (custom_credential.state_message == "") is (state == State.OK)
    assert "<" not in custom_credential.state_message


def test_check_never_stores_the_key_even_when_upstream_echoes_it(custom_credential, http_mock):
    http_mock.get(
        CUSTOM_MODELS_URL,
        status=401,
        json={"error": {"message": f"Incorrect API key provided: {CUSTOM_KEY}"}},
    )

    provider_check(credential=custom_credential)

    custom_credential.refresh_from_db()
    assert CUSTOM_KEY not in custom_credential.state_message
    assert "authentication failed" in custom_credential.state_message


def test_check_all_skips_disabled_credentials(workspace, http_mock):
    make_credential(workspace, name="on")
    make_credential(workspace, name="off", enabled=False)
    http_mock.get(CUSTOM_MODELS_URL, json={"data": []})

    checked = provider_check_all()

    assert [c.name for c in checked] == ["on"]
    assert ProviderCredential.objects.get(name="off").state == State.UNKNOWN


def test_check_tasks_run_as_plain_functions(custom_credential, http_mock):
    http_mock.get(CUSTOM_MODELS_URL, status=429, json={"error": {"message": "slow"}})

    assert provider_check_task(custom_credential.pk) == "rate_limited"
    assert provider_check_task(987654) == "skipped"
    assert provider_check_all_task() == "checked 1 credentials"

"""provider_check: a cheap probe that stores state, latency and a sanitized message."""

import io

import pytest
import requests

from catalog.services import provider_check, provider_check_all
from catalog.tasks import provider_check_all_task, provider_check_task
from providers.encryption import Ciphertext
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


KEY_A = "encryption-key-A-0123456789abcdefghijklmnopqrstuvwxyz"
KEY_B = "encryption-key-B-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def key_change(workspace, settings, http_mock):
    """Credentials written with key A; a check under key B marked them unreadable."""
    settings.OPENPROVIDER_ENCRYPTION_KEY = KEY_A
    restored = make_credential(workspace, name="restored")
    other = make_credential(workspace, name="other")
    settings.OPENPROVIDER_ENCRYPTION_KEY = KEY_B
    for credential in (restored, other):
        provider_check(credential=ProviderCredential.objects.get(pk=credential.pk))
    assert set(ProviderCredential.objects.values_list("state", flat=True)) == {State.UNREADABLE}
    assert len(http_mock.calls) == 0  # an unreadable key is never sent
    http_mock.get(CUSTOM_MODELS_URL, json={"data": []})
    return restored, other


def test_a_worker_start_rechecks_unreadable_credentials_once_their_key_is_back(
    key_change, settings, http_mock
):
    from celery.signals import worker_ready

    restored, other = key_change
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # given the right key is back as a fallback (and the other credential is still unreadable:
    # its ciphertext was replaced with bytes no key opens)
    settings.OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS = [KEY_A]
    ProviderCredential.objects.filter(pk=other.pk).update(api_key=Ciphertext(b"not-a-token"))

    # when a worker starts
    worker_ready.send(sender=None)

    # then the readable credential is checked at once, the other left as it was
    assert ProviderCredential.objects.get(pk=restored.pk).state == State.OK
    assert ProviderCredential.objects.get(pk=other.pk).state == State.UNREADABLE
    assert len(http_mock.calls) == 1


def test_the_recheck_touches_only_unreadable_credentials(key_change, settings, workspace):
    from catalog.services import provider_recheck_unreadable

    settings.OPENPROVIDER_ENCRYPTION_KEY = KEY_A
    healthy = make_credential(workspace, name="healthy", state=State.DOWN)

    checked = provider_recheck_unreadable()

    assert sorted(c.name for c in checked) == ["other", "restored"]
    assert ProviderCredential.objects.get(pk=healthy.pk).state == State.DOWN


def test_reencrypt_puts_credentials_readable_again_back_in_service(key_change, settings):
    from django.core.management import call_command

    restored, other = key_change
    settings.OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS = [KEY_A]
    out = io.StringIO()

    call_command("reencrypt_secrets", stdout=out)

    states = set(ProviderCredential.objects.values_list("state", flat=True))
    assert states == {State.UNKNOWN}  # not broken: their models are routed again
    assert f"now unknown until checked): {restored.pk}, {other.pk}" in out.getvalue()

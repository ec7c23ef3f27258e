"""What a tenant sees of a custom provider's server: its HTTP status and a reason class, never
its answer (issue 14: a base URL aimed at an internal service must not read that service out)."""

import pytest
import responses

from catalog.services import catalog_sync, provider_check
from providers.errors import ProviderError
from providers.models import ProviderCredential
from providers.registry import adapter_for
from tests.gateway.conftest import ALT_CHAT, HELLO, sse
from tests.gateway.loopback_http import LoopbackServer, reply

pytestmark = pytest.mark.django_db

CANARY = "INTERNAL-ADMIN-TOKEN-5b1e"
INTERNAL_BODY = (
    b'{"error": {"message": "' + CANARY.encode() + b' (redis://10.0.0.3:6379)"}, "data": 1}'
)


def internal_service(status: int) -> LoopbackServer:
    """A service on the server's own network that answers every GET with its secrets."""
    headers = {"Content-Type": "application/json"}
    return LoopbackServer(lambda _, h: reply(h, status, headers, INTERNAL_BODY))


def probe(credential) -> None:
    """What the scheduled check and sync do for a credential."""
    provider_check(credential=credential)
    catalog_sync(credential=credential)


@pytest.fixture
def homelab(workspace):
    def make(base_url: str) -> ProviderCredential:
        return ProviderCredential.objects.create(
            workspace=workspace, provider="custom", name="homelab", api_key="k", base_url=base_url
        )

    return make


def test_status_shows_the_status_code_never_the_internal_services_body(
    api_client, homelab, settings
):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = ["127.0.0.0/8"]
    with internal_service(500) as server:
        probe(homelab(server.url("/v1")))

    response = api_client.get("/v1/providers/status")

    assert CANARY.encode() not in response.content
    assert b"redis://" not in response.content
    entry = response.json()["data"][0]
    assert entry["state"] == "down"
    assert entry["state_message"] == "upstream error: HTTP 500"
    assert entry["last_sync_error"] == "upstream error: HTTP 500"
    assert len(server.hits) == 2  # it was reached: the setting allowed it


def test_status_in_production_says_the_address_is_not_allowed_and_nothing_is_sent(
    api_client, homelab, settings, http_mock
):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []
    http_mock.add_passthru("http://2130706433")  # to the real transport (and its guard)
    with internal_service(200) as server:
        probe(homelab(f"http://2130706433:{server.port}/v1"))  # loopback, saved before the fix

    response = api_client.get("/v1/providers/status")

    assert server.hits == []
    entry = response.json()["data"][0]
    assert entry["state"] == "down"
    assert "address is not allowed" in entry["state_message"]
    assert "address is not allowed" in entry["last_sync_error"]


def test_a_chat_error_envelope_never_carries_a_custom_providers_words(
    api_client, alt_model, http_mock
):
    http_mock.add(responses.POST, ALT_CHAT, status=400, body=INTERNAL_BODY)

    response = api_client.post(
        "/v1/chat/completions", {"model": alt_model.public_id, "messages": HELLO}, format="json"
    )

    assert response.status_code == 400
    assert CANARY.encode() not in response.content
    assert "HTTP 400" in response.json()["error"]["message"]


def test_a_custom_providers_stream_error_event_is_not_relayed(alt, http_mock):
    error_event = {"error": {"message": f"{CANARY} from the internal service"}}
    http_mock.add(
        responses.POST, ALT_CHAT, body=sse([error_event]), content_type="text/event-stream"
    )

    with pytest.raises(ProviderError) as raised:
        list(adapter_for(alt).chat_stream({"model": "m", "messages": HELLO}))

    assert raised.value.message == "upstream stream failed: error event"

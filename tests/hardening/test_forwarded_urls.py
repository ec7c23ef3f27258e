"""URLs that leave OpenProvider without being fetched by it (chat image parts).

Chat `image_url` parts are forwarded to the provider, which fetches them itself: OpenProvider
never connects, but internal hosts written as literals or well-known names are refused (400
invalid_image_url), so a self-hosted provider on the operator's network is never aimed at its
neighbours. Custom provider base URLs may point at loopback or the LAN on purpose (self-hosted
Ollama, vLLM); only http(s), no credentials in the URL, no link-local or metadata hosts.
"""

import json

import pytest
import responses
from django.core.exceptions import ValidationError

from providers.services import credential_validate
from tests.gateway.conftest import ALT_BASE, groq_completion
from tests.hardening.test_hostile_input import assert_envelope

pytestmark = pytest.mark.django_db

INTERNAL_URLS = [
    "http://127.0.0.1/cat.png",
    "http://localhost:8000/cat.png",
    "http://127.1/x.png",
    "http://2130706433/x.png",
    "http://0x7f000001/x.png",
    "http://0177.0.0.1/x.png",
    "http://[::1]/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.5/x.png",
    "http://172.16.3.4/x.png",
    "http://192.168.1.1/x.png",
    "http://0.0.0.0:8080/x.png",
    "http://[::]/x.png",
    "http://100.64.0.1/x.png",
    "http://printer.local/x.png",
    "http://router.home.arpa/x.png",
    "file:///etc/passwd",
    "gopher://example.com/x",
    "ftp://example.com/x.png",
    "http://user:pass@example.com/x.png",
    "http://127.0.0.1\\@evil.com/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg",
]


def chat_with_image(api_client, model_id: str, url: str):
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is it?"},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }
    return api_client.post(
        "/v1/chat/completions",
        {"model": model_id, "messages": [message]},
        format="json",
    )


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_image_urls_in_chat_are_refused_before_any_provider_call(
    api_client, catalog, http_mock, url
):
    response = chat_with_image(api_client, catalog["vision"].public_id, url)

    error = assert_envelope(response)
    assert response.status_code == 400
    assert error["code"] in ("invalid_image_url", "invalid_request")
    assert error["param"] == "messages[0].content[1].image_url.url"
    assert not http_mock.calls


@pytest.mark.parametrize(
    "url",
    [
        "https://upload.wikimedia.org/cat.png",
        "http://8.8.8.8/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_public_and_data_image_urls_are_forwarded_unchanged(api_client, catalog, http_mock, url):
    http_mock.add(responses.POST, f"{ALT_BASE}/chat/completions", json=groq_completion())

    response = chat_with_image(api_client, catalog["vision"].public_id, url)

    assert response.status_code == 200, response.content[:300]
    sent = json.loads(http_mock.calls[0].request.body)
    assert sent["messages"][0]["content"][1]["image_url"]["url"] == url


def test_an_operator_allow_listed_host_may_be_forwarded(api_client, catalog, http_mock, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1:9000"]
    http_mock.add(responses.POST, f"{ALT_BASE}/chat/completions", json=groq_completion())

    response = chat_with_image(
        api_client, catalog["vision"].public_id, "http://127.0.0.1:9000/a.png"
    )

    assert response.status_code == 200


def validate(base_url: str) -> None:
    credential_validate(provider="custom", name="mine", base_url=base_url, account_id="")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:11434/v1",
        "http://127.0.0.1:8080/v1",
        "http://192.168.1.20:11434/v1",
        "http://ollama:11434/v1",
        "https://llm.example.com/v1",
        "http://[::1]:8000/v1",
    ],
)
def test_self_hosted_base_urls_on_loopback_and_the_lan_are_allowed(base_url):
    validate(base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://llm.example.com/v1",
        "file:///etc/passwd",
        "gopher://127.0.0.1:11211/",
        "javascript:alert(1)",
        "http://user:secret@llm.example.com/v1",
        "http://:secret@llm.example.com/v1",
        "http://@llm.example.com/v1",
        "http://llm.example.com/v1?api_key=x",
        "http://llm.example.com/v1#x",
        "http://169.254.169.254/latest",
        "http://[fe80::1]/v1",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/v1",
        "http://100.100.100.200/latest",
        "http://llm.example.com:99999/v1",
        "http://llm.example.com\\@127.0.0.1/",
        "http://llm .example.com/",
        "http://llm.example.com/\u00e9",
        "http:///v1",
        "",
    ],
)
def test_unsafe_base_urls_are_refused(base_url):
    with pytest.raises(ValidationError) as caught:
        validate(base_url)

    assert "base_url" in caught.value.message_dict


def test_the_credential_form_refuses_a_base_url_with_credentials(client, user):
    from providers.models import ProviderCredential

    client.force_login(user)
    response = client.post(
        "/account/providers/custom/save",
        {"api_key": "k", "name": "lab", "base_url": "http://user:s3cret@llm.example.com/v1"},
    )

    assert response.status_code == 400
    assert "No user name, password" in response.content.decode()
    assert not ProviderCredential.objects.exists()

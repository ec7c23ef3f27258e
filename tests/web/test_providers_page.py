"""Provider setup: every registry provider, write-only keys, sync queued on commit, isolation."""

import pytest

from catalog.models import SyncRun
from catalog.tasks import catalog_sync_credential_task
from providers.models import ProviderCredential
from providers.registry import PROVIDERS

pytestmark = pytest.mark.django_db

GROQ_KEY = "gsk_canaryWEBpageSECRET0123456789wxyz"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(catalog_sync_credential_task, "delay", sent.append)
    return sent


def test_every_provider_is_listed_with_its_sign_up_link(client_in):
    page = client_in.get("/account/providers/").content.decode()

    for spec in PROVIDERS.values():
        assert f'id="provider-{spec.slug}"' in page
        if spec.signup_url:
            assert f'href="{spec.signup_url}"' in page
    assert "Free tier ended" in page  # providers whose free tier is gone say so


def test_saving_a_key_stores_it_and_queues_a_sync_on_commit(
    client_in, workspace, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(
            "/account/providers/groq/save", {"api_key": GROQ_KEY, "form_key": "groq"}
        )

    credential = ProviderCredential.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert (credential.provider, credential.name, credential.api_key) == ("groq", "groq", GROQ_KEY)
    assert queued == [credential.pk]


def test_a_saved_key_is_only_shown_masked(client_in, workspace, queued):
    client_in.post("/account/providers/groq/save", {"api_key": GROQ_KEY})

    page = client_in.get("/account/providers/").content.decode()

    assert GROQ_KEY not in page
    assert "••••wxyz" in page


def test_a_failed_save_never_echoes_the_key(client_in):
    response = client_in.post(
        "/account/providers/cloudflare/save", {"api_key": GROQ_KEY, "form_key": "cloudflare"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Cloudflare Workers AI needs your account id." in page
    assert GROQ_KEY not in page
    assert not ProviderCredential.objects.exists()


def test_custom_providers_need_a_name_and_base_url(client_in):
    response = client_in.post("/account/providers/custom/save", {"api_key": "k"})

    assert response.status_code == 400
    assert "A custom provider needs a short name." in response.content.decode()

    response = client_in.post(
        "/account/providers/custom/save", {"api_key": "k", "name": "lab", "base_url": "ftp://x"}
    )
    assert "Enter an http(s) URL." in response.content.decode()


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://0xa9fea9fe/v1", "cloud metadata"),  # 169.254.169.254, spelled in hex
        ("http://2130706433:9101/v1", "OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS"),  # 127.0.0.1
    ],
)
def test_a_base_url_this_server_may_not_reach_is_a_form_error(
    client_in, settings, base_url, message
):
    settings.OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = []  # production: public addresses only

    response = client_in.post(
        "/account/providers/custom/save", {"api_key": "k", "name": "lab", "base_url": base_url}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_cloudflare_takes_an_account_id(client_in, workspace, queued):
    client_in.post(
        "/account/providers/cloudflare/save", {"api_key": GROQ_KEY, "account_id": "abc123"}
    )

    assert ProviderCredential.objects.get(workspace=workspace).account_id == "abc123"


def test_replacing_a_key_keeps_one_credential(client_in, workspace, queued):
    client_in.post("/account/providers/groq/save", {"api_key": GROQ_KEY})
    client_in.post("/account/providers/groq/save", {"api_key": "gsk_new_key_9876", "name": "groq"})

    credential = ProviderCredential.objects.get(workspace=workspace)
    assert credential.key_hint == "9876"


def test_an_unknown_provider_is_not_found(client_in):
    assert client_in.post("/account/providers/nope/save", {"api_key": "k"}).status_code == 404


def test_sync_now_queues_a_sync(client_in, credential, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(f"/account/credentials/{credential.pk}/sync")

    assert response.status_code == 302
    assert queued == [credential.pk]


def test_sync_now_of_a_disabled_credential_queues_nothing_and_says_why(
    client_in, credential, queued, django_capture_on_commit_callbacks
):
    ProviderCredential.objects.filter(pk=credential.pk).update(enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(f"/account/credentials/{credential.pk}/sync", follow=True)

    assert "is disabled; enable it before syncing" in response.content.decode()
    assert queued == []


def test_delete_removes_the_credential_and_its_models(client_in, text_model, credential):
    client_in.post(f"/account/credentials/{credential.pk}/delete")

    assert not ProviderCredential.objects.filter(pk=credential.pk).exists()
    assert "No providers yet" in client_in.get("/models/").content.decode()


def test_another_workspaces_credential_is_not_found(client_in, other_credential, queued):
    pk = other_credential.pk

    assert client_in.post(f"/account/credentials/{pk}/sync").status_code == 404
    assert client_in.post(f"/account/credentials/{pk}/delete").status_code == 404
    assert ProviderCredential.objects.filter(pk=pk).exists()
    assert queued == []


def test_provider_status_text_is_escaped(client_in, credential):
    credential.state_message = "<script>alert(1)</script>"
    credential.last_sync_error = "<img src=x onerror=alert(1)>"
    credential.save()

    page = client_in.get("/account/providers/").content.decode()

    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page


def test_the_page_shows_how_many_models_the_last_sync_refused_for_an_unreadable_price(
    client_in, workspace, credential
):
    result = {"provider": "custom", "added": 0, "removed": 0, "changed": 0, "error": ""}
    SyncRun.objects.create(
        workspace=workspace, results={"homelab": {**result, "price_unreadable": 5}}
    )
    SyncRun.objects.create(
        workspace=workspace, results={"other": {**result, "price_unreadable": 9}}
    )

    page = client_in.get("/account/providers/").content.decode()

    assert f'data-testid="price-unreadable-{credential.pk}"' in page
    assert "5 models refused in the last sync" in page
    assert "9 models" not in page


def test_a_sync_with_every_price_readable_shows_no_refusal(client_in, workspace, credential):
    SyncRun.objects.create(workspace=workspace, results={"homelab": {"price_unreadable": 3}})
    SyncRun.objects.create(workspace=workspace, results={"homelab": {"price_unreadable": 0}})

    page = client_in.get("/account/providers/").content.decode()

    assert "Price unreadable" not in page

"""Admin gaps and catalog/provider integration: the credential admin's job actions through
the real changelist (CSRF-protected, staff only), staff without model permissions, and
credential names that would collide with OpenProvider's own model ids."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import User
from providers.models import ProviderCredential
from providers.services import credential_save

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/providers/providercredential/"


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@example.com", password="correct horse battery")


@pytest.fixture
def queued(monkeypatch) -> dict[str, list[int]]:
    jobs: dict[str, list[int]] = {"sync": [], "check": []}
    monkeypatch.setattr(
        "catalog.credentials.catalog_sync_credential_task.delay", jobs["sync"].append
    )
    monkeypatch.setattr("catalog.credentials.provider_check_task.delay", jobs["check"].append)
    return jobs


@pytest.mark.parametrize(("action", "job"), [("sync_now", "sync"), ("check_now", "check")])
def test_credential_job_actions_run_from_the_changelist(
    tenant_a, tenant_b, superuser, queued, action, job, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    page = client.get(CHANGELIST)
    assert f'value="{action}"' in page.content.decode()
    token = client.cookies["csrftoken"].value
    selected = [tenant_a.credential.pk, tenant_b.credential.pk]

    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(CHANGELIST, {"action": action, "_selected_action": selected})
        done = client.post(
            CHANGELIST,
            {"action": action, "_selected_action": selected, "csrfmiddlewaretoken": token},
        )

    assert refused.status_code == 403
    assert done.status_code == 302
    assert sorted(queued[job]) == sorted(selected)


def test_staff_without_credential_permissions_cannot_open_or_act_on_credentials(tenant_a, queued):
    """Staff is not enough; the credential admin needs its model permissions."""
    staff = User.objects.create_user("staff@example.com", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_catalogmodel"))
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/catalog/catalogmodel/").status_code == 200
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{tenant_a.credential.pk}/change/").status_code == 403
    acted = client.post(
        CHANGELIST, {"action": "sync_now", "_selected_action": [tenant_a.credential.pk]}
    )
    assert acted.status_code == 403
    assert queued == {"sync": [], "check": []}


def test_a_view_only_staff_member_sees_credentials_masked_and_cannot_replace_a_key(tenant_a):
    staff = User.objects.create_user("viewer@example.com", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_providercredential"))
    client = Client()
    client.force_login(staff)
    url = f"{CHANGELIST}{tenant_a.credential.pk}/change/"

    page = client.get(url).content.decode()
    posted = client.post(url, {"replace_key": "sk-view-only-replacement"})

    assert tenant_a.provider_key not in page
    assert 'name="replace_key"' not in page
    assert posted.status_code == 403
    assert ProviderCredential.objects.get(pk=tenant_a.credential.pk).api_key == (
        tenant_a.provider_key
    )


@pytest.mark.parametrize("name", ["openprovider", "OpenProvider", "auto"])
def test_a_credential_cannot_take_a_name_reserved_for_openproviders_own_ids(workspace, name):
    with pytest.raises(ValidationError) as raised:
        credential_save(
            workspace=workspace,
            provider="custom",
            name=name,
            api_key="k",
            base_url="https://llm.test/v1",
        )

    assert "reserved" in raised.value.message_dict["name"][0]
    assert not ProviderCredential.objects.exists()


def test_the_providers_page_explains_a_reserved_name(tenant_a):
    response = tenant_a.web().post(
        "/account/providers/custom/save",
        {
            "form_key": "custom",
            "name": "openprovider",
            "api_key": "k",
            "base_url": "https://llm.test/v1",
        },
    )

    assert response.status_code == 400
    assert "reserved for OpenProvider" in response.content.decode()


def test_the_admin_refuses_a_reserved_name(superuser, tenant_a):
    client = Client()
    client.force_login(superuser)

    response = client.post(
        f"{CHANGELIST}add/",
        {
            "workspace": tenant_a.workspace.pk,
            "provider": "custom",
            "name": "openprovider",
            "base_url": "https://llm.test/v1",
            "replace_key": "k",
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert "reserved for OpenProvider" in response.content.decode()
    assert not ProviderCredential.objects.filter(name="openprovider").exists()

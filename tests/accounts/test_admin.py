"""Admin: users, workspaces, API keys (hash never rendered, revoke action, limits at once)."""

import pytest

from accounts.models import ApiKey, Membership, User
from accounts.services import api_key_authenticate


@pytest.fixture
def admin_client(client, db):
    superuser = User.objects.create_superuser("root@example.com", password="admin passphrase")
    client.force_login(superuser)
    return client


def _pages(client, api_key: ApiKey) -> dict[str, str]:
    urls = {
        "changelist": "/admin/accounts/apikey/",
        "search": f"/admin/accounts/apikey/?q={api_key.prefix}",
        "change": f"/admin/accounts/apikey/{api_key.pk}/change/",
        "history": f"/admin/accounts/apikey/{api_key.pk}/history/",
        "delete": f"/admin/accounts/apikey/{api_key.pk}/delete/",
        "workspace": f"/admin/accounts/workspace/{api_key.workspace_id}/change/",
    }
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        pages[name] = response.content.decode()
    return pages


def test_admin_key_pages_never_render_the_hash_or_the_key(admin_client, created_key):
    pages = _pages(admin_client, created_key.api_key)

    for name, page in pages.items():
        assert created_key.api_key.key_hash not in page, name
        assert created_key.plaintext not in page, name
        assert "key_hash" not in page, name
    assert created_key.api_key.prefix in pages["changelist"]
    assert created_key.api_key.prefix in pages["change"]


def test_admin_cannot_add_a_key(admin_client):
    assert admin_client.get("/admin/accounts/apikey/add/").status_code == 403


def test_admin_revoke_action_revokes_at_once(admin_client, created_key, workspace):
    other = ApiKey.objects.create(
        workspace=workspace, name="kept", prefix="opk_live_x", key_hash="f" * 64
    )
    assert api_key_authenticate(created_key.plaintext) is not None  # warm cache

    response = admin_client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke", "_selected_action": [created_key.api_key.pk]},
    )

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=created_key.api_key.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None
    assert api_key_authenticate(created_key.plaintext) is None


def test_admin_limit_edits_apply_on_the_next_request(admin_client, created_key):
    assert api_key_authenticate(created_key.plaintext).requests_per_minute == 60  # warm cache

    response = admin_client.post(
        f"/admin/accounts/apikey/{created_key.api_key.pk}/change/",
        {"name": "renamed", "rpm_limit": "5", "rpd_limit": "50"},
    )

    assert response.status_code == 302
    api_key = api_key_authenticate(created_key.plaintext)
    assert api_key.requests_per_minute == 5
    assert api_key.requests_per_day == 50
    assert api_key.name == "renamed"
    assert ApiKey.objects.get(pk=created_key.api_key.pk).key_hash == created_key.api_key.key_hash


def test_admin_deleting_a_key_stops_it_at_once(admin_client, created_key):
    assert api_key_authenticate(created_key.plaintext) is not None  # warm cache

    admin_client.post(f"/admin/accounts/apikey/{created_key.api_key.pk}/delete/", {"post": "yes"})

    assert not ApiKey.objects.exists()
    assert api_key_authenticate(created_key.plaintext) is None


def test_admin_deactivating_a_workspace_stops_its_keys_at_once(
    admin_client, created_key, workspace
):
    assert api_key_authenticate(created_key.plaintext) is not None  # warm cache
    membership = Membership.objects.get(workspace=workspace)

    response = admin_client.post(
        f"/admin/accounts/workspace/{workspace.pk}/change/",
        {
            "name": workspace.name,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(membership.pk),
            "memberships-0-workspace": str(workspace.pk),
            "memberships-0-user": str(membership.user_id),
            "memberships-0-role": "owner",
        },
    )

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.is_active is False
    assert api_key_authenticate(created_key.plaintext) is None


def test_admin_user_pages_list_and_change_by_email(admin_client, user):
    changelist = admin_client.get("/admin/accounts/user/?q=ada").content.decode()
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")

    assert user.email in changelist
    assert change.status_code == 200
    assert user.password not in change.content.decode()


def test_admin_added_user_gets_a_personal_workspace(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New@Example.com",
            "password1": "a fresh passphrase",
            "password2": "a fresh passphrase",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a fresh passphrase")
    assert Membership.objects.get(user=user).role == Membership.Role.OWNER


def test_admin_needs_staff(client, user):
    client.force_login(user)

    response = client.get("/admin/accounts/apikey/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

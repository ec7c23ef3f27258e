"""The Account → API keys page: create (shown once), list, revoke; only the workspace's keys."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from accounts.models import ApiKey
from accounts.services import api_key_authenticate, api_key_create

from .leaks import stored_places_containing

KEY_RE = re.compile(r"opk_live_[A-Za-z0-9_-]{43}")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def _create(client: Client, name: str = "my app"):
    """Post the form and follow its redirect, as a browser does."""
    return client.post("/account/keys/", {"name": name}, follow=True)


def test_the_keys_page_needs_a_signed_in_user(client, db):
    response = client.get("/account/keys/")

    assert response.status_code == 302
    assert response["Location"] == "/account/signin/?next=/account/keys/"


def test_creating_a_key_redirects_and_the_next_page_shows_it_once(signed_in, workspace):
    response = _create(signed_in)

    assert response.redirect_chain == [("/account/keys/", 302)]
    assert response.status_code == 200
    page = response.content.decode()
    plaintext = KEY_RE.search(page).group()
    api_key = ApiKey.objects.get(workspace=workspace)
    assert api_key.name == "my app"
    assert plaintext.startswith(api_key.prefix)
    assert api_key_authenticate(plaintext).pk == api_key.pk
    assert "no-store" in response["Cache-Control"]
    assert 'data-copy-target="new-key"' in page


def test_the_new_key_is_never_shown_again_nor_kept_anywhere(signed_in, workspace):
    plaintext = KEY_RE.search(_create(signed_in).content.decode()).group()

    later = signed_in.get("/account/keys/").content.decode()

    api_key = ApiKey.objects.get(workspace=workspace)
    assert plaintext not in later
    assert KEY_RE.search(later) is None
    assert api_key.prefix in later
    assert stored_places_containing(plaintext[len(api_key.prefix) :]) == []
    assert all(plaintext not in cookie.value for cookie in signed_in.cookies.values())


def test_the_list_shows_name_prefix_dates_and_status(signed_in, created_key):
    api_key_authenticate(created_key.plaintext)  # sets last used
    revoked = api_key_create(workspace=created_key.api_key.workspace, name="old key")
    signed_in.post(f"/account/keys/{revoked.api_key.pk}/revoke/")

    page = signed_in.get("/account/keys/").content.decode()

    assert "test key" in page
    assert "old key" in page
    assert f"{created_key.api_key.prefix}…" in page
    assert "Active" in page
    assert "Revoked" in page
    assert "Never" in page  # the revoked key was never used
    assert page.count('action="/account/keys/') == 2  # the create form and one revoke form


def test_the_list_only_shows_this_workspace_keys(signed_in, created_key, other_user):
    theirs = api_key_create(workspace=other_user.workspace, name="bob's secret app")

    page = signed_in.get("/account/keys/").content.decode()

    assert "test key" in page
    assert "bob&#x27;s secret app" not in page
    assert theirs.api_key.prefix not in page


def test_reloading_after_creating_a_key_creates_no_second_key(signed_in, workspace):
    shown = _create(signed_in).content.decode()

    reloaded = signed_in.get("/account/keys/").content.decode()

    assert KEY_RE.search(shown) is not None
    assert KEY_RE.search(reloaded) is None
    assert ApiKey.objects.filter(workspace=workspace).count() == 1


def test_the_key_waiting_in_the_session_is_encrypted(signed_in, workspace):
    signed_in.post("/account/keys/", {"name": "waiting"})  # not followed: the key waits

    api_key = ApiKey.objects.get(workspace=workspace)
    sealed = signed_in.session["new_api_key"]
    assert api_key.prefix not in sealed
    assert stored_places_containing(api_key.prefix) == ["accounts.ApiKey.prefix"]


def test_a_name_that_is_too_long_is_refused_with_an_error(signed_in, workspace):
    response = _create(signed_in, name="x" * 101)

    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters" in response.content.decode()
    assert not ApiKey.objects.filter(workspace=workspace).exists()


def test_a_blank_name_creates_a_default_key(signed_in, workspace):
    _create(signed_in, name="")

    assert ApiKey.objects.get(workspace=workspace).name == "Default key"


def test_revoking_a_key_stops_it_on_the_next_request(signed_in, created_key):
    assert api_key_authenticate(created_key.plaintext) is not None  # warm cache

    response = signed_in.post(f"/account/keys/{created_key.api_key.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/account/keys/"
    assert ApiKey.objects.get(pk=created_key.api_key.pk).revoked_at is not None
    assert api_key_authenticate(created_key.plaintext) is None


def test_revoking_another_workspace_key_is_a_404_and_changes_nothing(signed_in, other_user):
    theirs = api_key_create(workspace=other_user.workspace, name="theirs")

    response = signed_in.post(f"/account/keys/{theirs.api_key.pk}/revoke/")

    assert response.status_code == 404
    assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is None
    assert api_key_authenticate(theirs.plaintext) is not None


def test_revoking_a_missing_key_is_a_404(signed_in, db):
    assert signed_in.post("/account/keys/999999/revoke/").status_code == 404


def test_revoking_by_get_is_refused(signed_in, created_key):
    response = signed_in.get(f"/account/keys/{created_key.api_key.pk}/revoke/")

    assert response.status_code == 405
    assert ApiKey.objects.get(pk=created_key.api_key.pk).revoked_at is None


def test_creating_a_key_without_a_csrf_token_is_refused(user, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/account/keys/", {"name": "x"})

    assert response.status_code == 403
    assert not ApiKey.objects.filter(workspace=workspace).exists()


def test_revoking_a_key_without_a_csrf_token_is_refused(user, created_key):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(f"/account/keys/{created_key.api_key.pk}/revoke/")

    assert response.status_code == 403
    assert ApiKey.objects.get(pk=created_key.api_key.pk).revoked_at is None


def test_the_page_has_no_inline_script_and_loads_the_copy_script(signed_in, db):
    page = _create(signed_in).content.decode()

    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts
    assert all("src=" in tag for tag in scripts)
    assert any("js/keys.js" in tag for tag in scripts)
    assert " onclick=" not in page
    assert finders.find("js/keys.js") is not None


def test_the_leak_scanner_finds_values_in_columns_and_sessions(signed_in, workspace):
    _create(signed_in, name="canary-name-123")
    session = signed_in.session
    session["note"] = "canary-session-456"
    session.save()

    assert stored_places_containing("canary-name-123") == ["accounts.ApiKey.name"]
    assert stored_places_containing("canary-session-456")[0].startswith("session ")

"""`create_api_key` and `createsuperuser --noinput`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Membership, User
from accounts.services import api_key_authenticate

from .leaks import stored_places_containing


def _create_api_key(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_create_api_key_prints_only_a_working_key(user, workspace):
    stdout, stderr = _create_api_key(user.email)

    plaintext = stdout.strip()
    assert stdout == plaintext + "\n"
    assert stderr == ""
    api_key = api_key_authenticate(plaintext)
    assert api_key.workspace == workspace
    assert api_key.created_by == user
    assert api_key.name == "CLI key"


def test_create_api_key_takes_a_name_and_the_email_in_any_case(user):
    stdout, _ = _create_api_key("ADA@example.com", "--name", "batch jobs")

    assert api_key_authenticate(stdout.strip()).name == "batch jobs"


def test_create_api_key_never_stores_the_plaintext(user):
    stdout, _ = _create_api_key(user.email)

    plaintext = stdout.strip()
    prefix = ApiKey.objects.get().prefix
    assert stored_places_containing(plaintext[len(prefix) :]) == []


def test_create_api_key_for_an_unknown_email_is_a_command_error(db):
    with pytest.raises(CommandError, match="No user with the email address"):
        _create_api_key("nobody@example.com")

    assert not ApiKey.objects.exists()


def test_createsuperuser_noinput_makes_a_superuser_with_a_workspace(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long admin passphrase")

    call_command("createsuperuser", "--noinput", "--email", "Root@Example.com", stdout=StringIO())

    admin = User.objects.get()
    assert admin.email == "root@example.com"
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password("a long admin passphrase")
    membership = Membership.objects.get(user=admin)
    assert membership.role == Membership.Role.OWNER
    assert admin.workspace == membership.workspace

"""Sign-up, sign-in and sign-out pages."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.forms import INVALID_LOGIN_MESSAGE
from accounts.models import Membership, User

PASSWORD = "correct horse battery"


def test_sign_up_creates_a_user_with_an_owned_personal_workspace(client, db):
    response = client.post(
        "/account/signup/",
        {
            "email": "New@Example.com",
            "password1": "a fresh passphrase",
            "password2": "a fresh passphrase",
        },
    )

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "new@example.com"
    assert user.check_password("a fresh passphrase")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert user.workspace == membership.workspace
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_up_refuses_an_email_taken_in_another_case(client, user):
    response = client.post(
        "/account/signup/",
        {
            "email": "ADA@example.com",
            "password1": "another passphrase",
            "password2": "another passphrase",
        },
    )

    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "x@example.com", "password1": "a fresh passphrase", "password2": "other"},
            "The two password fields didn",
        ),
        (
            {"email": "x@example.com", "password1": "short", "password2": "short"},
            "This password is too short.",
        ),
        (
            {
                "email": "not-an-email",
                "password1": "a fresh passphrase",
                "password2": "a fresh passphrase",
            },
            "Enter a valid email address.",
        ),
    ],
)
def test_sign_up_shows_what_is_wrong_with_the_form(client, db, data, message):
    response = client.post("/account/signup/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_sign_in_with_a_wrong_password_shows_an_error_and_stays_signed_out(client, user):
    response = client.post("/account/signin/", {"username": user.email, "password": "wrong"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page
    assert INVALID_LOGIN_MESSAGE in page
    assert "_auth_user_id" not in client.session


def test_sign_in_accepts_the_email_in_any_case(client, user):
    response = client.post(
        "/account/signin/", {"username": "Ada@Example.COM", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_in_rotates_the_session_key(client, user):
    client.get("/account/signin/")
    session = client.session
    session["before-login"] = True
    session.save()
    key_before = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post("/account/signin/", {"username": user.email, "password": PASSWORD})

    key_after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key_after != key_before
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_up_rotates_the_session_key(client, db):
    session = client.session
    session["before-login"] = True
    session.save()
    key_before = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(
        "/account/signup/",
        {
            "email": "new@example.com",
            "password1": "a fresh passphrase",
            "password2": "a fresh passphrase",
        },
    )

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != key_before


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "https:evil.com", "/\\evil.com", "http://evil.com/x"],
)
def test_sign_in_ignores_an_off_site_next(client, user, target):
    response = client.post(
        f"/account/signin/?next={target}",
        {"username": user.email, "password": PASSWORD, "next": target},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_in_follows_an_on_site_next(client, user):
    response = client.post(
        "/account/signin/",
        {"username": user.email, "password": PASSWORD, "next": "/account/keys/"},
    )

    assert response["Location"] == "/account/keys/"


def test_sign_out_by_post_ends_the_session(client, user):
    client.force_login(user)

    response = client.post("/account/signout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_sign_out_by_get_is_refused_and_keeps_the_session(client, user):
    client.force_login(user)

    response = client.get("/account/signout/")

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(user.pk)


def _csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_sign_in_without_a_csrf_token_is_refused(user):
    response = _csrf_client().post(
        "/account/signin/", {"username": user.email, "password": PASSWORD}
    )

    assert response.status_code == 403


def test_sign_up_without_a_csrf_token_is_refused(db):
    response = _csrf_client().post(
        "/account/signup/",
        {
            "email": "new@example.com",
            "password1": "a fresh passphrase",
            "password2": "a fresh passphrase",
        },
    )

    assert response.status_code == 403
    assert not User.objects.exists()


def test_sign_out_without_a_csrf_token_is_refused(user):
    client = _csrf_client()
    client.force_login(user)

    response = client.post("/account/signout/")

    assert response.status_code == 403
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_in_with_the_csrf_token_from_the_form_works(user):
    client = _csrf_client()
    client.get("/account/signin/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(
        "/account/signin/",
        {"username": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302

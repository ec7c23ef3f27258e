"""/v1 skips the web-only middleware (session, CSRF, auth, messages, CSP) and keeps the rest."""

import pytest

pytestmark = pytest.mark.django_db


def test_v1_answers_keep_the_security_headers_and_set_no_cookie(api_client):
    response = api_client.get("/v1/key")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "x-request-id" in response
    assert "Content-Security-Policy" not in response
    assert not response.cookies


def test_v1_never_reads_a_session_even_when_one_is_sent(client, user, created_key):
    client.force_login(user)  # a browser session cookie must not authenticate /v1

    assert client.get("/v1/key").status_code == 401
    response = client.get("/v1/key", HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")
    assert response.status_code == 200


def test_web_pages_still_get_csp_and_csrf(client):
    page = client.get("/account/signin/")

    assert "Content-Security-Policy" in page
    assert "csrftoken" in page.cookies


def test_a_web_post_without_a_csrf_token_is_still_refused(user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/account/signin/", {"username": user.email, "password": "x"})

    assert response.status_code == 403

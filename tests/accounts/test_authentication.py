"""The /v1 key authentication: every wrong key gets the same 401 body, never echoing the key;
a missing key says so, as OpenAI's API does."""

import pytest
from rest_framework.test import APIClient

from accounts.authentication import INVALID_KEY_MESSAGE, MISSING_KEY_MESSAGE
from accounts.services import api_key_create, api_key_revoke

GOLDEN_401 = {
    "error": {
        "message": INVALID_KEY_MESSAGE,
        "type": "authentication_error",
        "code": "invalid_api_key",
        "param": None,
    }
}


def _body(response) -> bytes:
    """The body with its own request id (the one part that differs per request) masked."""
    return response.content.replace(response["x-request-id"].encode(), b"gen-ID")


def _get_key(authorization: str | None):
    client = APIClient()
    if authorization is None:
        return client.get("/v1/key")
    return client.get("/v1/key", HTTP_AUTHORIZATION=authorization)


def _bad_headers(plaintext: str, key_hash: str) -> dict[str, str | None]:
    one_char_changed = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    return {
        "no header": None,
        "empty header": "",
        "scheme only": "Bearer",
        "scheme and spaces": "Bearer  ",
        "wrong scheme": f"Basic {plaintext}",
        "token scheme": f"Token {plaintext}",
        "lowercase bearer": f"bearer {plaintext}",
        "no scheme": plaintext,
        "two spaces": f"Bearer  {plaintext}",
        "trailing whitespace": f"Bearer {plaintext} ",
        "malformed": "Bearer opk_live_",
        "wrong prefix": "Bearer sk-" + plaintext.removeprefix("opk_live_"),
        "display prefix only": f"Bearer {plaintext[:17]}",
        "10 KB token": "Bearer opk_live_" + "a" * 10 * 1024,
        "non-ASCII (latin-1)": f"Bearer {plaintext[:-1]}é",
        "non-ASCII (utf-8 on the wire)": f"Bearer {plaintext[:-1]}密".encode().decode("latin-1"),
        "non-latin-1 text": f"Bearer {plaintext[:-1]}密",
        "NUL byte": f"Bearer {plaintext[:-1]}\x00",
        "SQL-shaped": "Bearer opk_live_' OR '1'='1",
        "LIKE wildcard": "Bearer opk_live_%",
        "unknown well-formed key": "Bearer opk_live_" + "A" * 43,
        "one char changed": f"Bearer {one_char_changed}",
        "stored hash as key": f"Bearer {key_hash}",
        "stored hash after the prefix": f"Bearer opk_live_{key_hash}",
    }


MISSING = ("no header", "empty header", "scheme only", "scheme and spaces")
CASES = [case for case in _bad_headers("opk_live_" + "x" * 43, "0" * 64) if case not in MISSING]


@pytest.mark.parametrize("case", MISSING)
def test_a_missing_key_is_told_apart_from_a_wrong_one(case, created_key, http_mock):
    authorization = _bad_headers(created_key.plaintext, created_key.api_key.key_hash)[case]

    response = _get_key(authorization)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == MISSING_KEY_MESSAGE
    assert error["message"].startswith("No API key provided.")
    assert (error["type"], error["code"], error["param"]) == (
        "authentication_error",
        "missing_api_key",
        None,
    )
    assert response["WWW-Authenticate"] == "Bearer"
    assert len(http_mock.calls) == 0


@pytest.mark.parametrize("case", CASES)
def test_every_bad_authorization_gets_the_same_401_body(case, created_key, http_mock):
    authorization = _bad_headers(created_key.plaintext, created_key.api_key.key_hash)[case]
    reference = _get_key("Bearer opk_live_" + "Z" * 43)

    response = _get_key(authorization)

    assert response.status_code == 401
    assert _body(response) == _body(reference)
    error = response.json()["error"]
    assert error.pop("request_id") == response["x-request-id"]
    assert {"error": error} == GOLDEN_401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Content-Type"] == "application/json"
    assert response["x-request-id"].startswith("gen-")
    body = response.content.decode()
    assert created_key.plaintext not in body
    assert created_key.api_key.key_hash not in body
    assert created_key.api_key.prefix not in body
    assert len(http_mock.calls) == 0


def test_a_revoked_key_gets_the_same_401_body_at_once(created_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")
    assert client.get("/v1/key").status_code == 200  # the auth cache is now warm
    unknown = _get_key("Bearer opk_live_" + "Z" * 43)

    api_key_revoke(api_key=created_key.api_key)
    response = client.get("/v1/key")

    assert response.status_code == 401
    assert _body(response) == _body(unknown)


def test_a_valid_key_authenticates(api_client, created_key):
    response = api_client.get("/v1/key")

    assert response.status_code == 200
    assert response.json()["prefix"] == created_key.api_key.prefix


def test_each_workspace_key_only_sees_its_own_workspace(created_key, workspace, other_user):
    theirs = api_key_create(workspace=other_user.workspace, name="theirs")
    mine_client, their_client = APIClient(), APIClient()
    mine_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")
    their_client.credentials(HTTP_AUTHORIZATION=f"Bearer {theirs.plaintext}")

    mine = mine_client.get("/v1/key").json()
    their = their_client.get("/v1/key").json()

    assert mine["workspace"] == {"id": workspace.pk, "name": workspace.name}
    assert their["workspace"] == {"id": other_user.workspace.pk, "name": other_user.workspace.name}
    assert their["name"] == "theirs"
    assert workspace.name not in str(their)


def _unknown_key(n: int) -> str:
    return f"Bearer opk_live_{n:043d}"


def test_an_address_past_its_auth_failure_limit_gets_429_without_a_query(db, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.AUTH_FAILURES_PER_MINUTE = 5
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    statuses = [
        client.get("/v1/key", HTTP_AUTHORIZATION=_unknown_key(n)).status_code for n in range(5)
    ]

    with CaptureQueriesContext(connection) as queries:
        refused = client.get("/v1/key", HTTP_AUTHORIZATION=_unknown_key(99))

    assert statuses == [401] * 5
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "too_many_auth_failures")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert len(queries) == 0
    assert "opk_live_" not in refused.content.decode()


def test_one_address_failing_does_not_refuse_another(created_key, settings):
    settings.AUTH_FAILURES_PER_MINUTE = 3
    flooder = APIClient(REMOTE_ADDR="203.0.113.7")
    for n in range(5):
        flooder.get("/v1/key", HTTP_AUTHORIZATION=_unknown_key(n))

    other = APIClient(REMOTE_ADDR="198.51.100.2")

    assert other.get("/v1/key", HTTP_AUTHORIZATION=_unknown_key(1000)).status_code == 401
    valid = other.get("/v1/key", HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")
    assert valid.status_code == 200


def test_behind_trusted_proxies_the_forwarded_address_is_the_client(settings):
    from accounts.clients import client_address

    meta = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}

    assert client_address(meta) == "10.0.0.5"  # no trusted proxy: the header is ignored
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(meta) == "203.0.113.7"  # the forged left entry is never used
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_address(meta) == "10.0.0.5"  # fewer entries than proxies: the peer

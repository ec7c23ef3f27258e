from django.conf import settings

from accounts.models import ApiKey


def test_key_endpoint_describes_the_calling_key(api_client, created_key):
    response = api_client.get("/v1/key")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "test key"
    assert body["prefix"] == created_key.api_key.prefix
    assert created_key.plaintext not in response.content.decode()


def test_key_endpoint_without_a_key_is_a_401_envelope(client, db):
    response = client.get("/v1/key")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "missing_api_key"


def test_key_endpoint_reports_workspace_dates_and_limits(api_client, created_key, workspace):
    ApiKey.objects.filter(pk=created_key.api_key.pk).update(rpm_limit=7)

    body = api_client.get("/v1/key").json()

    assert body["object"] == "api_key"
    assert body["workspace"] == {"id": workspace.pk, "name": workspace.name}
    assert body["created"] == int(created_key.api_key.created_at.timestamp())
    assert isinstance(body["last_used"], int)  # this very call counts as a use
    assert body["limits"] == {
        "requests_per_minute": 7,
        "requests_per_day": settings.API_KEY_DEFAULT_RPD,
    }
    assert "key_hash" not in body
    assert created_key.api_key.key_hash not in str(body)


def test_key_endpoint_refuses_other_methods_with_a_405_envelope(api_client):
    response = api_client.post("/v1/key", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"

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
    assert response.json()["error"]["code"] == "invalid_api_key"

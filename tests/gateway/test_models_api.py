"""GET /v1/models and /v1/models/{id}: the workspace's free registry in OpenAI's list shape."""

import time

import pytest
import yaml
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_key_create
from catalog.route_health import cooldown_key
from catalog.services import catalog_invalidate, catalog_sync
from providers.models import ProviderCredential
from providers.wire import ModelInfo
from tests.catalog.factories import (
    CUSTOM_KEY,
    GROQ_KEY,
    StubAdapter,
    free,
    make_credential,
    seed_model,
)

ZERO = {"prompt": "0", "completion": "0", "request": "0", "image": "0"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def groq(workspace) -> ProviderCredential:
    credential = make_credential(workspace, "groq", api_key=GROQ_KEY)
    seed_model(credential, "llama-3.3-70b", context_length=131072, max_output_tokens=32768)
    seed_model(credential, "meta-llama/llama-4-scout", category="vision")
    seed_model(credential, "orpheus", category="speech", voices=["troy"])
    return credential


@pytest.fixture
def homelab(workspace) -> ProviderCredential:
    credential = make_credential(workspace, "custom", name="homelab")
    seed_model(credential, "meta/llama-3:free")
    seed_model(credential, "flux", category="image")
    seed_model(credential, "retired", is_active=False)
    return credential


@pytest.fixture
def other_client(other_user) -> APIClient:
    created = api_key_create(workspace=other_user.workspace, name="b key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.plaintext}")
    return client


@pytest.fixture
def theirs(other_user) -> ProviderCredential:
    credential = make_credential(
        other_user.workspace, "groq", api_key="gsk_otherWORKSPACEkey0123456"
    )
    seed_model(credential, "their-secret-model")
    return credential


def ids(response) -> list[str]:
    return [entry["id"] for entry in response.json()["data"]]


def test_listing_has_the_openai_shape_with_the_auto_route_first(api_client, groq, homelab):
    response = api_client.get("/v1/models")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["object"] == "list"
    assert ids(response) == [
        "openprovider/auto-free",
        "groq/llama-3.3-70b",
        "groq/meta-llama/llama-4-scout",
        "groq/orpheus",
        "homelab/flux",
        "homelab/meta/llama-3:free",
    ]
    auto, llama = body["data"][0], body["data"][1]
    assert auto["category"] == "auto"
    assert auto["working"] is True
    assert llama["object"] == "model"
    assert isinstance(llama["created"], int)
    assert llama["owned_by"] == "groq"
    assert llama["provider"] == "groq"
    assert llama["category"] == "text"
    assert llama["context_length"] == 131072
    assert llama["max_output_tokens"] == 32768
    assert llama["free_evidence"] == "seeded"
    assert llama["working"] is True
    assert llama["pricing"] == ZERO
    assert {"name", "capabilities"} <= set(llama)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=vision", ["groq/meta-llama/llama-4-scout"]),
        ("category=image", ["homelab/flux"]),
        ("category=auto", ["openprovider/auto-free"]),
        ("provider=custom", ["homelab/flux", "homelab/meta/llama-3:free"]),
        ("provider=homelab&category=text", ["homelab/meta/llama-3:free"]),
        ("provider=openprovider", ["openprovider/auto-free"]),
        ("provider=mistral", []),
        ("category=speech&provider=groq", ["groq/orpheus"]),
    ],
)
def test_filters_narrow_the_listing(api_client, groq, homelab, query, expected):
    response = api_client.get(f"/v1/models?{query}")

    assert response.status_code == 200
    assert ids(response) == expected


def test_working_filter_reflects_cooldowns_and_credential_state(api_client, groq, homelab):
    cache.set(cooldown_key(groq.pk, "orpheus"), time.time() + 60, 60)
    ProviderCredential.objects.filter(pk=homelab.pk).update(state="auth_failed")

    working = ids(api_client.get("/v1/models?working=true"))
    broken = ids(api_client.get("/v1/models?working=false"))

    assert working == [
        "openprovider/auto-free",
        "groq/llama-3.3-70b",
        "groq/meta-llama/llama-4-scout",
    ]
    assert broken == ["groq/orpheus", "homelab/flux", "homelab/meta/llama-3:free"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("category=rerank", "category"),
        ("working=maybe", "working"),
        ("provider=Not%20A%20Slug", "provider"),
        ("provider=" + "x" * 80, "provider"),
    ],
)
def test_a_bad_filter_is_a_400_envelope_naming_the_param(api_client, groq, query, param):
    response = api_client.get(f"/v1/models?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_one_model_by_an_id_with_slashes(api_client, homelab):
    response = api_client.get("/v1/models/homelab/meta/llama-3:free")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "homelab/meta/llama-3:free"
    assert body["owned_by"] == "homelab"
    assert body["pricing"] == ZERO
    assert body["working"] is True


def test_every_model_carries_its_providers_documented_free_limits(api_client, groq, homelab):
    # given the registry's documented Groq free-tier limits (PROVIDERS.md §2.2)
    groq_limits = {"rpm": 30, "rpd": 1000, "tpm": 8000}

    listed = {entry["id"]: entry["limits"] for entry in api_client.get("/v1/models").json()["data"]}
    detail = api_client.get("/v1/models/groq/llama-3.3-70b").json()

    assert listed["groq/llama-3.3-70b"] == groq_limits
    assert listed["groq/orpheus"] == groq_limits
    assert listed["homelab/flux"] == {}  # a custom server documents none
    assert listed["openprovider/auto-free"] == {}
    assert detail["limits"] == groq_limits
    assert api_client.get("/v1/models/homelab/flux").json()["limits"] == {}


def test_the_models_schema_describes_the_limits_field(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema").content)

    for path in ("/v1/models", "/v1/models/{model_id}"):
        description = schema["paths"][path]["get"]["description"]
        assert "`limits`" in description
        assert "rpm/rph/rpd" in description


def test_the_auto_route_has_a_detail_too(api_client, homelab):
    response = api_client.get("/v1/models/openprovider/auto-free")

    assert response.status_code == 200
    assert response.json()["category"] == "auto"
    assert response.json()["working"] is True


@pytest.mark.parametrize("model_id", ["homelab/nope", "homelab/retired", "nothing"])
def test_an_unknown_or_inactive_model_is_a_404_model_not_found(api_client, homelab, model_id):
    response = api_client.get(f"/v1/models/{model_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_another_workspaces_models_are_never_listed_or_found(
    api_client, other_client, groq, theirs
):
    other_client.get("/v1/models")  # B primes its cached listing first

    listing = api_client.get("/v1/models")
    detail = api_client.get("/v1/models/groq/their-secret-model")

    assert "their-secret-model" not in listing.content.decode()
    assert detail.status_code == 404
    assert "groq/their-secret-model" in ids(other_client.get("/v1/models"))
    assert "groq/llama-3.3-70b" not in ids(other_client.get("/v1/models"))


def test_a_disabled_credentials_models_are_not_listed(api_client, groq, homelab):
    ProviderCredential.objects.filter(pk=homelab.pk).update(enabled=False)
    catalog_invalidate(homelab.workspace_id)

    assert not [i for i in ids(api_client.get("/v1/models")) if i.startswith("homelab/")]


def test_a_sync_that_deactivates_a_model_drops_it_from_the_cached_listing(
    api_client, homelab, monkeypatch
):
    stub = StubAdapter()
    monkeypatch.setattr("catalog.services.adapter_for", lambda credential: stub)
    stub.models = [free("meta/llama-3:free"), free("flux", "image")]
    catalog_sync(credential=homelab)
    assert "homelab/flux" in ids(api_client.get("/v1/models"))  # now cached
    stub.models = [free("meta/llama-3:free"), ModelInfo(upstream_id="flux", free=False)]

    catalog_sync(credential=homelab)

    assert "homelab/flux" not in ids(api_client.get("/v1/models"))
    assert api_client.get("/v1/models/homelab/flux").status_code == 404


def test_a_warm_listing_is_served_from_cache_without_queries(
    api_client, groq, django_assert_num_queries
):
    first = api_client.get("/v1/models")

    with django_assert_num_queries(0):
        second = api_client.get("/v1/models")

    assert second.content == first.content


def test_working_is_fresh_within_the_listing_ttl(api_client, groq, monkeypatch):
    monkeypatch.setattr("catalog.listing_cache.LISTING_TTL_SECONDS", 0.2)
    assert "groq/orpheus" in ids(api_client.get("/v1/models?working=true"))
    cache.set(cooldown_key(groq.pk, "orpheus"), time.time() + 60, 60)

    time.sleep(0.3)

    assert "groq/orpheus" not in ids(api_client.get("/v1/models?working=true"))


def test_hostile_names_are_returned_as_json_strings(api_client, homelab):
    seed_model(homelab, "evil", name="<script>alert(1)</script>")

    response = api_client.get("/v1/models/homelab/evil")

    assert response["Content-Type"] == "application/json"
    assert response.json()["name"] == "<script>alert(1)</script>"


def test_no_provider_key_appears_in_the_responses(api_client, groq, homelab):
    listing = api_client.get("/v1/models").content.decode()
    detail = api_client.get("/v1/models/groq/llama-3.3-70b").content.decode()

    for body in (listing, detail):
        assert GROQ_KEY not in body
        assert CUSTOM_KEY not in body
        assert "api_key" not in body


def test_the_listing_needs_a_key(client, db):
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models/groq/x").status_code == 401


def test_embedding_and_transcription_models_are_listed_under_their_categories(
    api_client, groq, homelab
):
    seed_model(groq, "whisper-large-v3", category="transcription")
    seed_model(homelab, "nomic-embed-text", category="embedding")

    embedding = api_client.get("/v1/models?category=embedding").json()["data"]
    transcription = api_client.get("/v1/models?category=transcription").json()["data"]

    assert [(m["id"], m["category"]) for m in embedding] == [
        ("homelab/nomic-embed-text", "embedding")
    ]
    assert [m["id"] for m in transcription] == ["groq/whisper-large-v3"]

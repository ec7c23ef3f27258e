"""Route quotas in /v1/models, /v1/models/{id} and /v1/providers/status: live while the listing
body is cached, read in one batch per listing, and the OpenAI SDK still reads the list."""

import json
import time
from collections.abc import Iterator

import openai
import pytest
from django.core.cache import cache

from catalog.route_health import cooldown_key
from gateway.routing.candidates import route_of
from gateway.routing.quota import quota_reserve
from tests.gateway.conftest import make_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _live_quotas(settings):
    settings.GATEWAY_QUOTA_VIEW_SECONDS = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def listed(api_client, **query) -> dict[str, dict]:
    response = api_client.get("/v1/models", query)
    assert response.status_code == 200
    return {entry["id"]: entry for entry in json.loads(response.content)["data"]}


def test_each_listed_model_carries_its_quota_and_the_auto_route_none(
    api_client, groq_model, alt_model
):
    alt_model.credential.limits = {"rpm": 4}
    alt_model.credential.save()
    quota_reserve(alt_model)

    entries = listed(api_client)

    assert entries["openprovider/auto-free"]["quota"] is None
    assert entries[groq_model.public_id]["quota"]["state"] == "ok"
    assert entries[groq_model.public_id]["quota"]["day"]["limit"] == 1000
    assert entries[alt_model.public_id]["quota"]["minute"]["remaining"] == 3
    assert entries[alt_model.public_id]["limits"] == {}  # documented ones: none for custom
    assert entries[alt_model.public_id]["pricing"]["prompt"] == "0"  # the entry's end is intact


def test_the_quota_is_live_while_the_listing_body_is_cached(api_client, groq_model):
    listed(api_client)  # renders and caches the body
    route = route_of(groq_model)
    cache.set(cooldown_key(*route), time.time() + 30, 30)

    entry = listed(api_client)[groq_model.public_id]

    assert entry["working"] is True  # the cached body: up to its TTL old
    assert (entry["quota"]["state"], entry["quota"]["kind"]) == ("cooling", "minute")


def test_filters_keep_each_quota_on_its_own_entry(api_client, groq_model, vision_model):
    vision_model.credential.limits = {"rpd": 7}
    vision_model.credential.save()

    entries = listed(api_client, category="vision")

    assert list(entries) == [vision_model.public_id]
    assert entries[vision_model.public_id]["quota"]["day"]["limit"] == 7


def test_a_listing_reads_all_its_quotas_in_one_batch_and_reuses_them_briefly(
    api_client, settings, monkeypatch, groq_model
):
    for i in range(30):
        make_model(groq_model.credential, f"m{i}")
    reads = []
    real_get_many = cache.get_many
    monkeypatch.setattr(
        "gateway.routing.quota_view.cache.get_many",
        lambda keys: reads.append(list(keys)) or real_get_many(keys),
    )
    settings.GATEWAY_QUOTA_VIEW_SECONDS = 60

    first, second = listed(api_client), listed(api_client)

    quota_reads = [keys for keys in reads if any(key.startswith("quota-") for key in keys)]
    assert len(quota_reads) == 1  # every route's keys in one round trip, then reused
    assert sum(key.startswith("quota-said:") for key in quota_reads[0]) == 31
    assert first == second


def test_a_single_model_has_its_quota(api_client, groq_model):
    quota_reserve(groq_model)

    entry = api_client.get(f"/v1/models/{groq_model.public_id}").json()
    auto = api_client.get("/v1/models/openprovider/auto-free").json()

    assert entry["quota"]["minute"] == {
        "limit": 30,
        "remaining": 29,
        "resets_at": entry["quota"]["minute"]["resets_at"],
    }
    assert entry["quota"]["minute"]["resets_at"].endswith("Z")
    assert auto["quota"] is None


def test_provider_status_shows_limits_and_each_routes_quota(api_client, groq_model, alt_model):
    groq_model.credential.limits = {"rpd": 200}
    groq_model.credential.save()
    cache.set(cooldown_key(*route_of(alt_model)), time.time() + 3600, 3600)

    data = {c["name"]: c for c in api_client.get("/v1/providers/status").json()["data"]}

    assert data["groq"]["limits"] == {"rpm": 30, "rpd": 200, "tpm": 8000}
    assert data["groq"]["routes"][0]["model"] == groq_model.public_id
    assert data["groq"]["routes"][0]["quota"]["day"]["limit"] == 200
    assert data["relay"]["limits"] == {}
    assert data["relay"]["routes"][0]["quota"]["state"] == "cooling"
    assert data["relay"]["routes"][0]["quota"]["kind"] == "day"


@pytest.fixture
def sdk(live_server, created_key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=created_key.plaintext, max_retries=0
    ) as client:
        yield client


@pytest.mark.django_db(transaction=True)
def test_the_openai_sdk_lists_models_with_their_quotas(sdk, groq_model):
    models = {model.id: model for model in sdk.models.list()}

    listed_model = models[groq_model.public_id]
    assert listed_model.object == "model"
    assert listed_model.owned_by == "groq"
    assert listed_model.model_extra["quota"]["state"] == "ok"


def test_a_warm_listing_reads_its_quotas_without_the_database(
    api_client, groq_model, alt_model, django_assert_num_queries
):
    alt_model.overrides = {"limits": {"rpm": 3}}
    alt_model.save()
    listed(api_client)  # warms the body, the key and the models behind the quotas

    with django_assert_num_queries(0):
        entries = listed(api_client)

    assert entries[alt_model.public_id]["quota"]["minute"]["limit"] == 3
    assert entries[groq_model.public_id]["quota"]["minute"]["limit"] == 30


@pytest.mark.parametrize(
    ("setting", "cost", "seconds"), [(1, 0.01, 1), (1, 0.5, 10), (0, 0.5, 0), (3, 0.1, 3)]
)
def test_a_listing_whose_quotas_are_costly_to_read_reuses_them_longer(
    settings, setting, cost, seconds
):
    from gateway.routing.quota_view import _reuse_seconds

    settings.GATEWAY_QUOTA_VIEW_SECONDS = setting

    assert _reuse_seconds(cost) == pytest.approx(seconds)

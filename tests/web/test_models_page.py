"""The model browser: the workspace's free catalog, filters, saving, empty states, escaping."""

import pytest
from django.core.cache import cache

from accounts.models import SavedModel
from catalog.route_health import cooldown_key
from tests.catalog.factories import seed_model
from tests.web.conftest import XSS

pytestmark = pytest.mark.django_db


def test_models_are_listed_with_ids_limits_capabilities_and_evidence(client_in, text_model):
    page = client_in.get("/models/").content.decode()

    assert "Llama 3" in page
    assert f'data-copy="{text_model.public_id}"' in page
    assert "8192 tokens" in page
    assert "2048 tokens" in page
    assert '<span class="chip">tools</span>' in page
    assert "seeded" in page  # free evidence
    assert 'data-testid="model-working"' in page


def test_only_this_workspaces_active_models_are_listed(client_in, text_model, other_credential):
    seed_model(other_credential, "their-model")
    seed_model(text_model.credential, "gone-model", is_active=False)

    page = client_in.get("/models/").content.decode()

    assert "theirs/their-model" not in page
    assert "homelab/gone-model" not in page
    assert "1 model" in page


def test_filters_narrow_the_list(client_in, text_model, credential):
    seed_model(credential, "painter", category="image", name="Painter")
    cache.set(cooldown_key(credential.pk, "painter"), 9e12, 60)

    by_category = client_in.get("/models/?category=image").content.decode()
    by_search = client_in.get("/models/?q=LLAMA").content.decode()
    not_working = client_in.get("/models/?working=no").content.decode()
    working = client_in.get("/models/?working=yes").content.decode()

    assert "homelab/painter" in by_category
    assert "homelab/llama-3" not in by_category
    assert "homelab/llama-3" in by_search
    assert "homelab/painter" not in by_search
    assert "homelab/painter" in not_working
    assert "homelab/llama-3" not in not_working
    assert "homelab/llama-3" in working
    assert "homelab/painter" not in working


def test_a_stale_filter_value_is_ignored(client_in, text_model):
    response = client_in.get("/models/?category=nonsense&provider=nobody&working=maybe")

    assert response.status_code == 200
    assert "homelab/llama-3" in response.content.decode()


def test_the_empty_state_points_to_provider_setup(client_in):
    page = client_in.get("/models/").content.decode()

    assert "No providers yet — add a key in" in page
    assert 'href="/account/providers/"' in page


def test_no_match_explains_how_to_clear_the_filters(client_in, text_model):
    page = client_in.get("/models/?q=zzz").content.decode()

    assert "No models match these filters." in page


def test_save_toggles_and_returns_to_the_same_listing(client_in, text_model, workspace):
    response = client_in.post(
        "/models/save", {"model_id": text_model.public_id, "next": "/models/?q=llama"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/models/?q=llama"
    assert SavedModel.objects.filter(workspace=workspace, model_id=text_model.public_id).exists()
    assert 'data-testid="unsave-model"' in client_in.get("/models/").content.decode()

    client_in.post("/models/save", {"model_id": text_model.public_id})
    assert not SavedModel.objects.filter(workspace=workspace).exists()


def test_saving_refuses_models_outside_the_workspace_and_offsite_redirects(
    client_in, other_credential, text_model
):
    theirs = seed_model(other_credential, "their-model")

    assert client_in.post("/models/save", {"model_id": theirs.public_id}).status_code == 404
    response = client_in.post(
        "/models/save", {"model_id": text_model.public_id, "next": "//evil.example/"}
    )
    assert response["Location"] == "/models/"


def test_provider_controlled_text_is_escaped(client_in, credential):
    seed_model(credential, "evil", name=XSS, description=f"desc {XSS}", free_evidence=XSS)

    page = client_in.get("/models/").content.decode()

    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/models/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/signin/?next=/models/")

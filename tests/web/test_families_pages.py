"""Families on the web: one card per family on the Models page, families first in the pickers."""

import base64

import pytest
import responses
from django.core.cache import cache

from catalog.route_health import cooldown_key
from providers.registry import documented_limits
from tests.gateway.conftest import CHAT_CAPS, make_credential, make_model
from tests.web.test_playground import PNG

pytestmark = pytest.mark.django_db

FAMILY = "llama-3.3-70b-instruct"
LLAMA = "meta-llama/llama-3.3-70b-instruct"


@pytest.fixture
def family(workspace):
    """Groq's route (documented 1,000 requests a day) and two relays, one of which sees."""
    groq = make_credential(workspace, "groq", "groq")
    routes = [make_model(groq, "llama-3.3-70b-versatile", family=FAMILY)]
    for name, category in (("relay", "text"), ("seer", "vision")):
        credential = make_credential(
            workspace, "custom", name, base_url=f"https://{name}.test/v1", limits={"rpd": 1300}
        )
        caps = {**CHAT_CAPS, "vision": category == "vision"}
        routes.append(
            make_model(credential, LLAMA, family=FAMILY, category=category, capabilities=caps)
        )
    make_model(make_credential(workspace, "custom", "solo"), "solo-model", family="solo-model")
    return routes


def test_the_models_page_groups_a_family_into_one_card_with_its_routes_and_capacity(
    client_in, family
):
    cache.set(cooldown_key(family[1].credential_id, LLAMA), 9e12, 60)

    page = client_in.get("/models/").content.decode()

    card_start = page.index(f'data-family-id="{FAMILY}"')
    card = page[card_start : page.index("</details>", card_start)]
    for route in family:
        assert f'data-model-id="{route.public_id}"' in card
    # Groq's documented 1,000 a day and the seer's 1,300: the cooling relay does not count.
    assert documented_limits("groq")["rpd"] == 1000
    assert "2 working routes, ~2,300 requests/day free" in card, card[:2000]
    assert 'data-testid="route-state">Cooling<' in card
    assert 'data-copy="llama-3.3-70b-instruct"' in card
    assert page.index(f'data-family-id="{FAMILY}"') < page.index('data-model-id="solo/solo-model"')
    assert 'data-family-id="solo-model"' not in page  # one route: a plain card


def test_a_search_for_the_family_id_finds_its_card(client_in, family):
    page = client_in.get(f"/models/?q={FAMILY}").content.decode()

    assert f'data-family-id="{FAMILY}"' in page
    assert "solo/solo-model" not in page


def test_the_chat_console_offers_families_first(client_in, family):
    page = client_in.get("/chat/").content.decode()

    families = page.index('<optgroup label="Model families (every provider&#x27;s free quota)">')
    everything = page.index('<optgroup label="All text and vision models">')
    assert page.index('value="openprovider/auto-free"') < families < everything
    assert families < page.index(f'value="{FAMILY}"') < everything
    assert "3 working routes, ~3,600 requests/day free" in page


def test_the_playground_offers_a_family_with_a_seeing_route_for_analysis(
    client_in, family, http_mock
):
    page = client_in.get("/playground/").content.decode()
    assert f'<option value="{FAMILY}">' in page

    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "A dot"}}]}
    http_mock.add(responses.POST, "https://seer.test/v1/chat/completions", json=completion)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()

    response = client_in.post(
        "/playground/analyze", {"prompt": "What is it?", "model": FAMILY, "image_url": data_url}
    )

    assert response.status_code == 200, response.content
    assert response.json()["text"] == "A dot"
    assert [c.request.url for c in http_mock.calls] == ["https://seer.test/v1/chat/completions"]


def test_an_operator_merges_a_model_into_a_family_from_its_edit_page(client_in, family):
    solo = family[0].workspace.catalog_models.get(upstream_id="solo-model")

    response = client_in.post(f"/models/{solo.public_id}/edit", {"override_family": FAMILY})

    assert response.status_code == 302
    solo.refresh_from_db()
    assert (solo.family, solo.overrides) == (FAMILY, {"family": FAMILY})
    page = client_in.get("/models/").content.decode()
    card_start = page.index(f'data-family-id="{FAMILY}"')
    assert (
        f'data-model-id="{solo.public_id}"'
        in page[card_start : page.index("</details>", card_start)]
    )
    assert f"family {FAMILY} (listed: solo-model)" in page
    edit = client_in.get(f"/models/{solo.public_id}/edit").content.decode()
    assert f"<td>solo-model</td><td>{FAMILY}</td>" in edit

"""The listing pieces the adapters share: ModelInfo defaults, listing rows, token pagination."""

import pytest

from providers.errors import ProviderError
from providers.listing import MAX_PAGES, listed_model, listed_rows, token_paged_rows

from .conftest import make_adapter

GEMINI_MODELS = "https://generativelanguage.googleapis.com/v1beta/models"


def test_listed_model_keeps_evidence_only_on_a_free_model():
    free = listed_model("m-free", "text", free_evidence="trial")
    paid = listed_model("m-paid", "text", free_evidence="trial", free=False)

    assert (free.free, free.free_evidence) == (True, "trial")
    assert (paid.free, paid.free_evidence) == (False, "")


def test_listed_model_names_by_id_when_the_listing_gives_no_name():
    assert listed_model("x" * 300, "text", free_evidence="").name == "x" * 200
    assert listed_model("m", "text", free_evidence="", name="Model M").name == "Model M"


def test_listed_model_offers_chat_capabilities_only_for_chat_categories():
    chat = listed_model("m", "vision", free_evidence="", tools=True)
    image = listed_model("i", "image", free_evidence="", tools=True)

    assert chat.capabilities == {
        "tools": True,
        "structured_output": False,
        "vision": True,
        "streaming": True,
    }
    assert not any(image.capabilities.values())


@pytest.mark.parametrize("body", [{"models": {}}, {"data": []}, "models", None])
def test_a_listing_without_its_row_list_is_refused(body):
    with pytest.raises(ProviderError) as caught:
        listed_rows(body, "models")

    assert caught.value.kind == "invalid_response"


def test_a_bare_list_listing_is_its_own_rows():
    assert listed_rows([{"id": "a"}]) == [{"id": "a"}]


def test_token_pagination_stops_at_the_page_cap(http_mock):
    http_mock.get(GEMINI_MODELS, json={"models": [{"name": "models/x"}], "nextPageToken": "t"})
    adapter = make_adapter("gemini")

    rows = token_paged_rows(
        lambda params: adapter._request("GET", GEMINI_MODELS, params=params),
        {"pageSize": 1},
        rows_key="models",
        next_key="nextPageToken",
        next_param="pageToken",
    )

    assert len(rows) == MAX_PAGES
    assert len(http_mock.calls) == MAX_PAGES
    assert "pageToken=t" in http_mock.calls[-1].request.url

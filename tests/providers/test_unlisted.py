"""Listings that carry ids only (custom servers, NVIDIA NIM, Scaleway): capabilities unknown."""

import pytest

from .conftest import by_id, fixture, make_adapter


@pytest.mark.parametrize(
    ("slug", "options"),
    [("custom", {"base_url": "http://llm.test/v1"}), ("nvidia", {}), ("scaleway", {})],
)
def test_tools_structured_output_and_vision_are_unknown_not_false(slug, options):
    rows = fixture("cerebras/models_list.json")["data"]  # a real ids-only OpenAI listing
    rows.append({"id": "llava-v1.6-vision", "object": "model", "owned_by": "local"})

    models = by_id(make_adapter(slug, **options).parse_rows(rows))

    text = models["gpt-oss-120b"].capabilities
    assert (text["tools"], text["structured_output"], text["vision"]) == (None, None, None)
    assert text["streaming"] is True
    vision = models["llava-v1.6-vision"]
    assert vision.category == "vision"
    assert vision.capabilities["vision"] is True
    assert vision.capabilities["tools"] is None

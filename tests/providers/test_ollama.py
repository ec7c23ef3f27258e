"""Ollama (local, keyless): /api/tags + /api/show describe models; chat through /v1."""

import json

from responses import matchers

from .conftest import by_id, fixture, free_ids, json5_fixture, make_adapter

ROOT = "http://ollama.test:11434"


def adapter():
    return make_adapter("ollama", api_key="", base_url=f"{ROOT}/v1")


def show_for(name, show):
    return {
        "method": "POST",
        "url": f"{ROOT}/api/show",
        "match": [matchers.json_params_matcher({"model": name})],
        "json": show,
    }


def test_listing_reads_capabilities_and_context_from_show(http_mock):
    # given the docs' /api/tags list and /api/show example (JSON5 converted by the helper)
    show = json5_fixture("ollama/api_show_model_info.json5")
    http_mock.get(f"{ROOT}/api/tags", json=fixture("ollama/api_tags_models_list.json"))
    http_mock.add(
        **show_for("deepseek-r1:latest", {**show, "capabilities": ["completion", "tools"]})
    )
    http_mock.add(**show_for("llama3.2:latest", show))

    models = by_id(adapter().list_models())

    assert free_ids(models.values()) == {"deepseek-r1:latest", "llama3.2:latest"}
    assert models["llama3.2:latest"].category == "vision"  # capabilities: completion, vision
    assert models["llama3.2:latest"].context_length == 8192  # model_info["llama.context_length"]
    assert models["deepseek-r1:latest"].capabilities["tools"] is True
    assert models["deepseek-r1:latest"].category == "text"
    assert all("Authorization" not in call.request.headers for call in http_mock.calls)


def test_embedding_only_models_are_embedding_models():
    raw = {"name": "nomic-embed-text:latest", "show": {"capabilities": ["embedding"]}}

    assert adapter().parse_model(raw).category == "embedding"


def test_models_that_neither_complete_nor_embed_are_dropped():
    raw = {"name": "some-tool:latest", "show": {"capabilities": ["insert"]}}

    assert adapter().parse_model(raw) is None


def test_a_model_show_cannot_describe_is_still_listed_as_text(http_mock):
    http_mock.get(f"{ROOT}/api/tags", json={"models": [{"name": "odd:latest"}]})
    http_mock.post(f"{ROOT}/api/show", status=404, json=fixture("ollama/error_generic.json"))

    (model,) = adapter().list_models()

    assert (model.upstream_id, model.category, model.free) == ("odd:latest", "text", True)


def test_chat_round_trip_is_keyless(http_mock):
    http_mock.post(
        f"{ROOT}/v1/chat/completions", json=fixture("ollama/openai_compat_chat_completion.json")
    )

    answer = adapter().chat({"model": "qwen3:0.6b", "messages": []})

    assert json.loads(answer["choices"][0]["message"]["content"]) == {
        "city": "Paris",
        "country": "France",
    }
    assert "Authorization" not in http_mock.calls[0].request.headers


def test_default_base_is_localhost():
    assert make_adapter("ollama", api_key="").base_url == "http://localhost:11434/v1"


def test_error_body_is_read_from_the_operators_ollama(chat_error, settings):
    settings.OPENPROVIDER_BASE_URL_OLLAMA = f"{ROOT}/v1"  # the operator's URL, not the tenant's
    error = chat_error(
        make_adapter("ollama", api_key=""), 500, fixture("ollama/error_generic.json")
    )

    assert "the model failed to generate a response" in error.message


def test_error_body_from_a_base_url_saved_with_the_key_is_not_relayed(chat_error):
    # a tenant's base URL may point at any service on the network: only the status is shown
    error = chat_error(adapter(), 500, fixture("ollama/error_generic.json"))

    assert error.message == "upstream error: HTTP 500"

"""Cohere (trial key): native listing on api.cohere.com, chat via the compatibility API.

No listing fixture was captured: the rows below follow the documented shape of
GET /v1/models (docs.cohere.com list-models; PROVIDERS.md §2.11).
"""

from responses import matchers

from .conftest import CANARY, assert_key_in_header_only, by_id, fixture, free_ids, make_adapter

LISTING = "https://api.cohere.com/v1/models"
COMPAT = "https://api.cohere.ai/compatibility/v1"


def model(name, features=(), deprecated=False, endpoints=("chat",)):
    return {
        "name": name,
        "endpoints": list(endpoints),
        "finetuned": False,
        "context_length": 256000,
        "features": list(features),
        "is_deprecated": deprecated,
    }


def test_free_rule_and_categories():
    rows = [
        model("command-a-03-2025", ["tools", "json_schema"]),
        model("command-a-vision-07-2025", ["json_mode"]),
        model("aya-vision-32b", ["vision"]),
        model("command-r-03-2024", deprecated=True),
        model("embed-v4.0", endpoints=("embed",)),
    ]

    models = by_id(make_adapter("cohere").parse_rows(rows))

    assert free_ids(models.values()) == {
        "command-a-03-2025",
        "command-a-vision-07-2025",
        "aya-vision-32b",
    }
    assert models["command-a-03-2025"].category == "text"
    assert models["command-a-03-2025"].capabilities["tools"] is True
    assert models["command-a-vision-07-2025"].category == "vision"
    assert models["aya-vision-32b"].category == "vision"
    assert models["command-a-03-2025"].context_length == 256000


def test_listing_paginates_with_page_token(http_mock):
    http_mock.get(
        LISTING,
        json={"models": [model("command-a-03-2025")], "next_page_token": "p2"},
        match=[matchers.query_param_matcher({"endpoint": "chat", "page_size": "1000"})],
    )
    http_mock.get(
        LISTING,
        json={"models": [model("command-r7b-12-2024")]},
        match=[
            matchers.query_param_matcher(
                {"endpoint": "chat", "page_size": "1000", "page_token": "p2"}
            )
        ],
    )

    models = make_adapter("cohere").list_models()

    assert free_ids(models) == {"command-a-03-2025", "command-r7b-12-2024"}
    for call in http_mock.calls:
        assert_key_in_header_only(call)


def test_chat_round_trip_on_the_compatibility_api(http_mock):
    http_mock.post(
        f"{COMPAT}/chat/completions",
        json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}]},
    )

    answer = make_adapter("cohere").chat({"model": "command-a-03-2025", "messages": []})

    assert answer["choices"][0]["message"]["content"] == "hello"
    assert_key_in_header_only(http_mock.calls[0])


def test_not_found_error_body(chat_error):
    error = chat_error(
        make_adapter("cohere"),
        404,
        fixture("cohere/error_404_model_not_found.json"),
        model="nonexistent",
    )

    assert error.kind == "not_found"
    assert "model 'nonexistent' not found" in error.message
    assert CANARY not in str(error)

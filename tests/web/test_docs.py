"""Docs: the /v1 reference from the OpenAPI schema, the error envelope and the request builder."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def builder_workflows(page: str) -> list[dict]:
    match = re.search(
        r'<script id="builder-workflows" type="application/json">(.*?)</script>', page
    )
    assert match
    return json.loads(match.group(1))


def test_the_reference_lists_the_v1_routes_of_the_schema(client):
    page = client.get("/docs/").content.decode()

    reference = page.split('data-testid="api-reference"')[1]
    routes = [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model_id}"),
        ("GET", "/v1/providers/status"),
    ]
    for method, path in routes:
        assert f"{method}</span> <code>{path}</code>" in reference
    assert "The OpenAI chat completions endpoint" in reference


def test_the_error_envelope_is_documented(client):
    page = client.get("/docs/").content.decode()

    assert "&quot;error&quot;: {" in page
    assert "model_not_found" in page
    assert "rate_limit_error" in page


def test_the_request_builder_offers_every_workflow(client):
    workflows = builder_workflows(client.get("/docs/").content.decode())

    assert [w["id"] for w in workflows] == [
        "chat",
        "image-generation",
        "image-analysis",
        "speech",
        "models",
        "provider-status",
    ]
    chat = workflows[0]
    assert (chat["method"], chat["path"], chat["available"]) == (
        "POST",
        "/v1/chat/completions",
        True,
    )
    assert chat["body"]["model"] == "openprovider/auto-free"
    analysis = workflows[2]
    assert (analysis["path"], analysis["available"]) == ("/v1/images/analyze", True)
    assert analysis["body"]["image_url"].startswith("https://")


def test_the_builder_never_embeds_a_key(client_in, created_key):
    page = client_in.get("/docs/").content.decode()

    assert created_key.plaintext not in page
    assert 'id="builder-key" type="password" autocomplete="off"' in page


def test_the_getting_started_path_has_four_steps(client):
    page = client.get("/docs/").content.decode()

    steps = page.split('data-testid="getting-started"')[1].split("</ol>")[0]
    titles = re.findall(r'<a href="[^"]+">([^<]+)</a>', steps)
    assert titles == ["Sign in", "Connect providers", "Check the catalog", "Create an API key"]

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
        "completions",
        "responses",
        "embeddings",
        "transcription",
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
    analysis = next(w for w in workflows if w["id"] == "image-analysis")
    assert (analysis["path"], analysis["available"]) == ("/v1/images/analyze", True)
    assert analysis["body"]["image_url"].startswith("https://")


@pytest.mark.parametrize(
    ("workflow_id", "path", "fields", "sdk_call"),
    [
        ("embeddings", "/v1/embeddings", {"model", "input"}, "embeddings.create"),
        (
            "completions",
            "/v1/completions",
            {"model", "prompt", "max_tokens", "stream"},
            "completions.create",
        ),
        (
            "responses",
            "/v1/responses",
            {"model", "input", "instructions", "stream"},
            "responses.create",
        ),
        (
            "transcription",
            "/v1/audio/transcriptions",
            {"model", "response_format"},
            "audio.transcriptions.create",
        ),
    ],
)
def test_the_builder_offers_the_openai_text_routes(client, workflow_id, path, fields, sdk_call):
    workflows = {w["id"]: w for w in builder_workflows(client.get("/docs/").content.decode())}

    workflow = workflows[workflow_id]
    assert (workflow["method"], workflow["path"]) == ("POST", path)
    assert set(workflow["body"]) == fields
    assert workflow["python"] == sdk_call
    assert workflow["text"] is True


def test_transcription_is_sent_as_multipart_with_a_file(client):
    workflows = {w["id"]: w for w in builder_workflows(client.get("/docs/").content.decode())}

    transcription = workflows["transcription"]
    assert (transcription["form"], transcription["file"]) == ("multipart", "file")
    assert transcription["file_name"].endswith(".wav")


def test_every_workflow_says_how_python_calls_it(client):
    for workflow in builder_workflows(client.get("/docs/").content.decode()):
        assert "python" in workflow, workflow["id"]
        assert "python_print" in workflow, workflow["id"]


def test_the_builder_has_cURL_Python_and_JavaScript_snippets(client):
    page = client.get("/docs/").content.decode()

    for language in ("curl", "python", "js"):
        assert f'data-testid="builder-{language}"' in page
        assert f'data-testid="builder-copy-{language}"' in page


def test_the_playground_text_panel_is_the_builder_over_the_text_routes(client_in):
    page = client_in.get("/playground/").content.decode()

    workflows = builder_workflows(page)
    assert [w["id"] for w in workflows] == [
        "completions",
        "responses",
        "embeddings",
        "transcription",
    ]
    assert 'data-testid="playground-text"' in page
    assert 'src="/static/js/docs.js"' in page


def test_the_builder_never_embeds_a_key(client_in, created_key):
    page = client_in.get("/docs/").content.decode()

    assert created_key.plaintext not in page
    assert 'id="builder-key" type="password" autocomplete="off"' in page


def test_the_getting_started_path_has_four_steps(client):
    page = client.get("/docs/").content.decode()

    steps = page.split('data-testid="getting-started"')[1].split("</ol>")[0]
    titles = re.findall(r'<a href="[^"]+">([^<]+)</a>', steps)
    assert titles == ["Sign in", "Connect providers", "Check the catalog", "Create an API key"]

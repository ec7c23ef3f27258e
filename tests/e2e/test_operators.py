"""What users and operators see of what happened, in the browser: an API key created once (a
reload makes no second one), a provider card following its sync live, the Activity page, the
admin's request log, and the request builder's Python snippets and text panel."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import ApiKey, User
from accounts.services import api_key_create
from catalog.services import catalog_sync_credential
from gateway.models import RequestLog
from providers.models import ProviderCredential
from tests.e2e.conftest import PASSWORD, flash, sign_in_as, snap

EMAIL = "ops@example.com"
FALLBACK = [
    {
        "provider": "groq",
        "model": "groq/llama-3.1-8b-instant",
        "status": "rate_limited",
        "http_status": 429,
        "reason": "HTTP 429",
        "ms": 35,
    },
    {"provider": "fake", "model": "fake/fake-chat", "status": "ok", "reason": "", "ms": 80},
]


def test_creating_a_key_then_reloading_keeps_one_key(web: Page, live_server):
    sign_in_as(web, live_server.url, EMAIL)
    web.goto(f"{live_server.url}/account/keys/")

    web.get_by_label("Name").fill("laptop")
    web.get_by_role("button", name="Create key").click()

    expect(web).to_have_url(f"{live_server.url}/account/keys/")
    key = web.locator("#new-key")
    expect(key).to_have_value(re.compile(r"^opk_live_"))
    snap(web, "ops-key-created")
    web.reload()
    expect(web.locator("#new-key")).to_have_count(0)
    expect(web.get_by_role("row", name=re.compile("laptop"))).to_have_count(1)
    assert ApiKey.objects.filter(workspace=User.objects.get(email=EMAIL).workspace).count() == 1


def test_the_provider_card_shows_its_sync_result_without_a_reload(
    web: Page, live_server, fake_provider, monkeypatch
):
    queued: list[int] = []

    def no_worker_yet(task, credential_id, on_queued=None):
        # Patched on the module, not on the task: the live server's thread may resolve the
        # task proxy to another Celery app instance than this thread does.
        queued.append(credential_id)

    monkeypatch.setattr("catalog.credentials._queue", no_worker_yet)
    sign_in_as(web, live_server.url, EMAIL)
    web.goto(f"{live_server.url}/account/providers/")

    form = web.get_by_test_id("credential-form-custom")
    form.get_by_label("Name").fill("fake")
    form.get_by_label("Base URL").fill(fake_provider.base_url)
    form.get_by_test_id("credential-save").click()
    expect(flash(web)).to_contain_text("Saved fake")
    credential = ProviderCredential.objects.get(name="fake")
    card_status = web.get_by_test_id(f"sync-status-{credential.pk}")
    expect(card_status).to_contain_text("waiting for a worker")
    expect(web.get_by_test_id(f"credential-models-{credential.pk}")).to_have_text("0")
    assert queued == [credential.pk]

    catalog_sync_credential(credential=credential)  # what the worker does with the queued job

    expect(card_status).to_contain_text(re.compile(r"Sync done: \d+ free models"))
    models = web.get_by_test_id(f"credential-models-{credential.pk}")
    expect(models).not_to_have_text("0")
    card = web.get_by_test_id(f"credential-{credential.pk}")
    expect(card.locator('[data-field="last-sync"]')).to_contain_text("just now")
    snap(web, "ops-provider-synced")


def test_the_activity_page_lists_requests_with_their_fallback_trace(web: Page, live_server):
    sign_in_as(web, live_server.url, EMAIL)
    workspace = User.objects.get(email=EMAIL).workspace
    RequestLog.objects.create(
        id="gen-activity-served",
        workspace=workspace,
        endpoint="chat/completions",
        requested_model="openprovider/auto-free",
        served_model="fake/fake-chat",
        provider="fake",
        status="success",
        http_status=200,
        latency_ms=120,
        prompt_tokens=9,
        completion_tokens=6,
        total_tokens=15,
        attempts=FALLBACK,
    )
    RequestLog.objects.create(
        id="gen-activity-failed",
        workspace=workspace,
        endpoint="chat/completions",
        requested_model="fake/gone",
        status="error",
        http_status=404,
        error_code="model_not_found",
    )

    web.goto(f"{live_server.url}/account/")
    web.get_by_test_id("subnav-activity").click()

    rows = web.get_by_test_id("activity-row")
    expect(rows).to_have_count(2)
    served = web.locator('[data-request-id="gen-activity-served"]')
    expect(served).to_contain_text("fake/fake-chat")
    expect(served).to_contain_text("120 ms")
    expect(served.get_by_test_id("activity-trace").locator("li")).to_have_count(2)
    expect(served.get_by_test_id("activity-trace")).to_contain_text("HTTP 429")
    snap(web, "ops-activity")

    web.locator("#activity-status").select_option("error")
    web.get_by_test_id("activity-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("model_not_found")

    web.get_by_test_id("subnav-usage").click()
    expect(web.get_by_test_id("usage-total-tokens")).to_have_text("15")


def test_the_admin_request_log_finds_a_request_and_shows_every_attempt(web: Page, live_server):
    User.objects.create_superuser("root@example.com", password=PASSWORD)
    workspace = User.objects.create_user("someone@example.com", password=PASSWORD).workspace
    RequestLog.objects.create(
        id="gen-admin-e2e-0001",
        workspace=workspace,
        endpoint="chat/completions",
        requested_model="openprovider/auto-free",
        served_model="fake/fake-chat",
        provider="fake",
        status="success",
        http_status=200,
        attempts=FALLBACK,
    )
    RequestLog.objects.create(id="gen-admin-e2e-0002", workspace=workspace, endpoint="models")

    web.goto(f"{live_server.url}/admin/")
    web.locator("#id_username").fill("root@example.com")
    web.locator("#id_password").fill(PASSWORD)
    web.locator("input[type=submit]").click()
    web.get_by_role("link", name="Request logs").click()
    expect(web.locator("#result_list tbody tr")).to_have_count(2)

    web.locator("#searchbar").fill("gen-admin-e2e-0001")
    web.locator("#changelist-search input[type=submit]").click()
    expect(web.locator("#result_list tbody tr")).to_have_count(1)
    web.get_by_role("link", name="gen-admin-e2e-0001").first.click()

    attempts = web.locator("tr[data-attempt]")
    expect(attempts).to_have_count(2)
    expect(attempts.first).to_contain_text("groq/llama-3.1-8b-instant")
    expect(attempts.nth(1)).to_contain_text("fake/fake-chat")
    expect(web.locator("input[name=_save]")).to_have_count(0)  # read-only
    snap(web, "ops-admin-request")


def test_every_python_snippet_of_the_builder_is_valid_python(web: Page, live_server):
    web.goto(f"{live_server.url}/docs/")
    picker = web.get_by_test_id("builder-workflow")
    ids = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert {"embeddings", "transcription", "completions", "responses"} <= set(ids)

    for workflow in ids:
        picker.select_option(workflow)
        snippet = web.get_by_test_id("builder-python").text_content()
        assert "from openai import OpenAI" in snippet, workflow
        compile(snippet, f"<{workflow} snippet>", "exec")  # raises SyntaxError when broken

    picker.select_option("transcription")
    expect(web.get_by_test_id("builder-file")).to_be_visible()
    expect(web.get_by_test_id("builder-curl")).to_contain_text("-F 'file=@speech.wav'")
    expect(web.get_by_test_id("builder-python")).to_contain_text("audio.transcriptions.create(")
    picker.select_option("chat")
    web.get_by_test_id("builder-body").fill('{"model": "m", "stream": true, "seed": null}')
    expect(web.get_by_test_id("builder-python")).to_contain_text("stream=True")
    expect(web.get_by_test_id("builder-python")).to_contain_text("seed=None")


@pytest.mark.parametrize("workflow", ["embeddings", "completions"])
def test_the_playground_text_panel_sends_the_request_and_shows_the_answer(
    web: Page, live_server, browser_errors, workflow
):
    sign_in_as(web, live_server.url, EMAIL)
    key = api_key_create(workspace=User.objects.get(email=EMAIL).workspace, name="pg").plaintext
    # No provider key in this workspace: the server answers its 503 error envelope.
    browser_errors.allow(r"status of 503 \(Service Unavailable\) @ .*/v1/")
    web.goto(f"{live_server.url}/playground/")

    panel = web.get_by_test_id("playground-text")
    panel.get_by_test_id("builder-workflow").select_option(workflow)
    panel.get_by_test_id("builder-key").fill(key)
    panel.get_by_test_id("builder-run").click()

    status = panel.get_by_test_id("builder-status")
    expect(status).not_to_have_text("Running…")
    expect(status).not_to_contain_text("could not be sent")
    expect(panel.get_by_test_id("builder-result-json")).to_contain_text("no_available_model")

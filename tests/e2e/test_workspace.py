"""Managing the workspace in the browser: saved models, stopping an answer, renaming and
deleting conversations (with their confirmation), usage charts and deleting a provider key."""

import re
import socket

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Message, User
from catalog.services import catalog_invalidate
from providers.models import ProviderCredential
from tests.catalog.factories import seed_model
from tests.e2e.conftest import connect_fake, flash, sign_in_as, snap, wait_until
from tests.fakeprovider import FakeProvider

EMAIL = "ada@example.com"
LONG_ANSWER = " ".join(f"word{n}" for n in range(200))


@pytest.fixture
def slow_fake():
    with FakeProvider(answer=LONG_ANSWER, delay=0.05) as fake:
        yield fake


def accept_dialogs(page: Page, seen: list[str]) -> None:
    def accept(dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)


def test_saved_models_come_first_in_the_chat_picker(web: Page, live_server, fake_provider):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    web.goto(f"{live_server.url}/models/")
    card = web.locator('[data-model-id="fake/fake-vision"]')
    card.get_by_test_id("save-model").click()
    expect(
        web.locator('[data-model-id="fake/fake-vision"]').get_by_test_id("unsave-model")
    ).to_be_visible()

    web.get_by_test_id("nav-chat").click()
    groups = web.locator("#chat-model optgroup")
    expect(groups.first).to_have_attribute("label", "OpenProvider")
    expect(groups.nth(1)).to_have_attribute("label", "Saved models")
    expect(groups.nth(1).locator("option")).to_have_attribute("value", "fake/fake-vision")

    web.goto(f"{live_server.url}/account/saved/")
    expect(web.get_by_test_id("subnav-saved")).to_have_attribute("aria-current", "page")
    expect(web.get_by_test_id("saved-row")).to_contain_text("fake/fake-vision")
    snap(web, "saved-models")
    web.get_by_test_id("saved-remove").click()
    expect(web.get_by_test_id("saved-row")).to_have_count(0)


def test_stop_keeps_the_partial_answer_as_incomplete(web: Page, live_server, slow_fake):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, slow_fake)
    web.goto(f"{live_server.url}/chat/")
    web.get_by_test_id("chat-model").select_option("fake/fake-chat")
    web.get_by_test_id("chat-input").fill("Count for me")
    web.get_by_test_id("chat-send").click()
    body = web.locator(".msg-assistant .msg-body")
    expect(body).to_contain_text("word3")
    web.get_by_test_id("chat-stop").click()
    expect(web.locator(".msg-assistant")).to_have_attribute("data-status", "incomplete")
    expect(web.get_by_test_id("chat-stop")).to_be_hidden()
    expect(web.get_by_test_id("chat-send")).to_be_enabled()
    snap(web, "chat-stopped")

    # The server notices the closed stream and saves what it had as incomplete
    assert wait_until(lambda: Message.objects.filter(role="assistant").exists())
    web.reload()
    saved = web.locator(".msg-assistant")
    expect(saved).to_have_attribute("data-status", "incomplete")
    expect(saved.locator(".msg-body")).to_contain_text("word0 word1")
    stored = Message.objects.get(role="assistant")
    assert stored.status == "incomplete"
    assert LONG_ANSWER.startswith(stored.content)
    assert stored.content != LONG_ANSWER


def closed_port_url() -> str:
    """A loopback base URL nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_fallback_shown_then_rename_and_delete_the_conversation(
    web: Page, live_server, fake_provider
):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    # "dead/dead-chat" ranks before "fake/fake-chat" for Auto Free (no health yet; by id)
    dead = ProviderCredential.objects.create(
        workspace=User.objects.get(email=EMAIL).workspace,
        provider="custom",
        name="dead",
        base_url=closed_port_url(),
    )
    seed_model(dead, "dead-chat", free_evidence="self-hosted")
    catalog_invalidate(dead.workspace_id)

    web.goto(f"{live_server.url}/chat/")
    expect(web.get_by_test_id("chat-model")).to_have_value("openprovider/auto-free")
    web.get_by_test_id("chat-input").fill("First question")
    web.get_by_test_id("chat-input").press("Enter")
    answer = web.locator(".msg-assistant")
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.locator(".msg-meta")).to_have_text("fake/fake-chat via fake")
    expect(answer.locator(".msg-foot")).to_contain_text("Fell back from: dead/dead-chat")
    expect(web).to_have_url(re.compile(r"/chat/\d+/$"))
    snap(web, "chat-fallback")
    web.reload()
    expect(web.locator(".msg-assistant .msg-foot")).to_contain_text(
        "Fell back from: dead/dead-chat"
    )

    web.goto(f"{live_server.url}/account/conversations/")
    row = web.get_by_test_id("conversation-row")
    row.get_by_role("textbox").fill("Renamed chat")
    row.get_by_test_id("conversation-rename").click()
    expect(flash(web)).to_contain_text("Conversation renamed.")
    expect(web.get_by_test_id("conversation-row").get_by_role("link")).to_have_text("Renamed chat")
    web.get_by_role("link", name="Renamed chat").click()
    expect(web.get_by_role("heading", level=1)).to_have_text("Renamed chat")
    expect(web.locator(".msg-user .msg-body")).to_have_text("First question")
    web.go_back()

    # Usage counts the answered request
    web.get_by_test_id("subnav-usage").click()
    expect(web.get_by_test_id("usage-totals")).to_contain_text("1 request, 0 errors")
    expect(web.get_by_test_id("usage-routes")).to_contain_text("fake/fake-chat")
    y_axis = web.get_by_test_id("usage-chart").first.locator('text.axis[text-anchor="end"]')
    expect(y_axis).to_have_text(["0", "1"])
    snap(web, "usage")

    seen: list[str] = []
    accept_dialogs(web, seen)
    web.get_by_test_id("subnav-conversations").click()
    web.get_by_test_id("conversation-delete").click()
    expect(flash(web)).to_contain_text("Conversation deleted.")
    expect(web.get_by_test_id("conversation-row")).to_have_count(0)
    assert seen == ["Delete this conversation?"]


def test_provider_setup_shows_form_errors_in_view_and_asks_before_deleting(
    web: Page, live_server, fake_provider, browser_errors
):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    web.goto(f"{live_server.url}/account/providers/")
    form = web.get_by_test_id("credential-form-custom")
    form.get_by_label("Name").fill("not a slug!")
    form.get_by_label("Base URL").fill("ftp://example.com")
    form.get_by_test_id("credential-save").click()
    # The re-rendered page answers 400, which Chromium logs for the document itself.
    browser_errors.allow(r"status of 400 \(Bad Request\) @ .*/account/providers/custom/save")
    form = web.get_by_test_id("credential-form-custom")
    error = form.locator(".errorlist").first
    expect(error).to_contain_text("Use letters, digits, - and _ only.")
    expect(error).to_be_in_viewport()
    expect(form.get_by_label("Name")).to_have_value("not a slug!")
    snap(web, "provider-form-errors")

    delete = web.get_by_role("button", name="Delete fake")

    # Dismissing the question keeps the key
    web.once("dialog", lambda dialog: dialog.dismiss())
    delete.click()
    expect(delete).to_be_visible()

    seen: list[str] = []
    accept_dialogs(web, seen)
    delete.click()
    expect(flash(web)).to_contain_text("Deleted fake")
    expect(web.get_by_role("button", name="Delete fake")).to_have_count(0)
    assert seen == ["Delete the key fake and the models found through it?"]
    web.goto(f"{live_server.url}/models/")
    expect(web.get_by_test_id("models-empty")).to_contain_text("No providers yet")

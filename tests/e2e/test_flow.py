"""The whole path through the web app in Chromium: from sign-up to a working route.

sign up → add a custom provider key pointing at the loopback fake → sync → Models → Chat
(streamed) → Account conversations → API keys (create, revoke) → Docs request builder (live
call with a fresh key) → Playground (image and speech).
"""

import re

from playwright.sync_api import Page, expect

from catalog.models import CatalogModel
from catalog.services import catalog_invalidate
from providers.models import ProviderCredential
from tests.e2e.conftest import flash, sign_up, snap
from tests.fakeprovider import FakeProvider

PROVIDER_NAME = "fake"
FREE_MODELS = ["fake/fake-chat", "fake/fake-vision", "fake/fake-image", "fake/fake-tts"]

# Records each distinct text of the streaming answer, so the test can tell a stream that grew
# token by token from one that arrived in a single piece.
WATCH_STREAM = """() => {
  window.__streamStates = [];
  const log = document.getElementById("chat-log");
  new MutationObserver(() => {
    const body = log.querySelector(".msg-assistant .msg-body.streaming");
    const text = body ? body.textContent : "";
    const states = window.__streamStates;
    if (text && states[states.length - 1] !== text) states.push(text);
  }).observe(log, {childList: true, subtree: true, characterData: true});
}"""


def add_custom_provider(page: Page, base: str, fake: FakeProvider) -> None:
    page.goto(f"{base}/account/providers/")
    form = page.get_by_test_id("credential-form-custom")
    form.get_by_label("Name").fill(PROVIDER_NAME)
    form.get_by_label("API key").fill("fake-provider-key")
    form.get_by_label("Base URL").fill(fake.base_url)
    form.get_by_test_id("credential-save").click()
    expect(flash(page)).to_contain_text(f"Saved {PROVIDER_NAME}")


def test_from_sign_up_to_a_working_route(web: Page, live_server, streaming_fake, eager_tasks):
    page, base = web, live_server.url

    # Sign up
    sign_up(page, base, "ada@example.com")
    snap(page, "01-home-signed-in")

    # Provider setup: a custom OpenAI-compatible credential to the fake, synced on save
    add_custom_provider(page, base, streaming_fake)
    credential = ProviderCredential.objects.get(name=PROVIDER_NAME)
    section = page.get_by_test_id(f"credential-{credential.pk}")
    expect(section).to_contain_text("Free models")
    page.get_by_test_id(f"credential-sync-{credential.pk}").click()
    expect(flash(page)).to_contain_text(f"Sync of {PROVIDER_NAME}")
    expect(page.get_by_test_id(f"credential-{credential.pk}")).not_to_contain_text("never")
    snap(page, "02-provider-setup")
    assert any(r["path"].endswith("/models") for r in streaming_fake.requests)
    assert CatalogModel.objects.filter(credential=credential, is_active=True).count() == 4

    # Models lists the free models
    page.get_by_test_id("nav-models").click()
    cards = page.get_by_test_id("model-card")
    expect(cards).to_have_count(len(FREE_MODELS))
    for model_id in FREE_MODELS:
        expect(page.locator(f'[data-model-id="{model_id}"]')).to_be_visible()
    snap(page, "03-models")

    # Chat: pick the model, Enter sends, the answer streams in
    page.get_by_test_id("nav-chat").click()
    page.get_by_test_id("chat-model").select_option("fake/fake-chat")
    page.evaluate(WATCH_STREAM)
    expect(page.get_by_test_id("chat-delete")).to_be_hidden()
    box = page.get_by_test_id("chat-input")
    box.fill("Say hello")
    box.press("Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.locator(".msg-body")).to_have_text(streaming_fake.answer)
    expect(answer.locator(".msg-meta")).to_contain_text("fake/fake-chat via")
    states = page.evaluate("window.__streamStates")
    partial = [s for s in states if s != streaming_fake.answer]
    assert len(partial) >= 2, f"the answer did not grow token by token: {states}"
    assert all(streaming_fake.answer.startswith(s) for s in partial)
    expect(page.get_by_test_id("conversation-link").first).to_have_text("Say hello")
    expect(page).to_have_title("Say hello · OpenProvider")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    # The new conversation can be deleted without a reload
    expect(page.get_by_test_id("chat-delete")).to_be_visible()
    delete_action = page.locator("#chat-delete-form").get_attribute("action")
    assert delete_action == page.url.removeprefix(live_server.url) + "delete"
    snap(page, "04-chat")

    # The conversation is listed in Account → Conversations
    page.get_by_test_id("nav-account").click()
    snap(page, "05-account")
    page.get_by_test_id("subnav-conversations").click()
    expect(page.get_by_test_id("subnav-conversations")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("main")).to_contain_text("Say hello")
    snap(page, "06-conversations")

    # API keys: create one (plaintext shown once), then revoke it
    page.get_by_test_id("subnav-keys").click()
    expect(page.get_by_test_id("subnav-keys")).to_have_attribute("aria-current", "page")
    page.get_by_label("Name").fill("revoked soon")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_have_value(re.compile(r"^opk_live_"))
    snap(page, "07-api-key-created")
    page.get_by_role("button", name="Revoke revoked soon").click()
    expect(flash(page)).to_contain_text("Revoked “revoked soon”")
    expect(page.locator("#new-key")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("revoked soon"))).to_contain_text("Revoked")
    snap(page, "08-api-key-revoked")

    # Docs request builder: a live chat request with a fresh key
    page.get_by_label("Name").fill("docs")
    page.get_by_role("button", name="Create key").click()
    plaintext = page.locator("#new-key").input_value()
    page.get_by_test_id("nav-docs").click()
    page.get_by_test_id("builder-key").fill(plaintext)
    page.get_by_test_id("builder-run").click()
    expect(page.get_by_test_id("builder-status")).to_have_text("Done.")
    result = page.get_by_test_id("builder-result-json")
    expect(result).to_contain_text('"object": "chat.completion"')
    expect(result).to_contain_text(streaming_fake.answer)
    snap(page, "09-docs-builder")

    # Playground: an image in the gallery and speech, in a chosen voice, that plays
    CatalogModel.objects.filter(public_id="fake/fake-tts").update(voices=["alloy", "nova"])
    catalog_invalidate(credential.workspace_id)
    page.get_by_test_id("nav-playground").click()
    page.get_by_test_id("image-prompt").fill("A lighthouse at dawn")
    page.get_by_test_id("image-model").select_option("fake/fake-image")
    page.get_by_test_id("image-submit").click()
    image = page.get_by_test_id("image-gallery").locator("img").first
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    page.get_by_test_id("speech-model").select_option("fake/fake-tts")
    expect(page.get_by_test_id("speech-voice").locator("option")).to_have_text(
        ["Default voice", "alloy", "nova"]
    )
    page.get_by_test_id("speech-voice").select_option("nova")
    page.get_by_test_id("speech-submit").click()
    audio = page.get_by_test_id("speech-audio")
    expect(audio).to_be_visible()
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("audio => audio.readyState >= 1", arg=audio.element_handle())
    assert audio.evaluate("audio => audio.play().then(() => 'playing')") == "playing"
    spoken = [r for r in streaming_fake.requests if r["path"].endswith("/audio/speech")]
    assert spoken[-1]["body"]["voice"] == "nova"
    snap(page, "10-playground")

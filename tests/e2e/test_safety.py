"""Keyboard use, a narrow screen, hostile provider text, and every page free of browser errors."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from catalog.services import catalog_invalidate
from providers.models import ProviderCredential
from tests.catalog.factories import seed_model
from tests.e2e.conftest import PASSWORD, connect_fake, sign_in_as, sign_up, snap
from tests.fakeprovider import FakeProvider

EMAIL = "ada@example.com"
XSS_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ANSWER = (
    "Look: <script>alert(1)</script> and [x](javascript:alert(1)) "
    '<img src=x onerror=alert(1)> <a href="javascript:alert(2)">y</a>'
)


@pytest.fixture
def dialogs(web: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed, so a test cannot hang on one)."""
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    web.on("dialog", record)
    return opened


@pytest.fixture
def hostile_fake():
    with FakeProvider(answer=HOSTILE_ANSWER, delay=0.01) as fake:
        yield fake


def assert_inert(body) -> None:
    """No script, no event handler attribute and no javascript: link inside `body`."""
    found = body.evaluate(
        """el => ({
          scripts: el.querySelectorAll("script").length,
          handlers: [...el.querySelectorAll("*")].filter(
            n => [...n.attributes].some(a => a.name.startsWith("on"))).length,
          jsLinks: [...el.querySelectorAll("[href],[src]")].filter(
            n => /^\\s*javascript:/i.test(n.getAttribute("href") || n.getAttribute("src") || "")
          ).length,
        })"""
    )
    assert found == {"scripts": 0, "handlers": 0, "jsLinks": 0}


def test_shift_enter_adds_a_line_and_enter_sends(web: Page, live_server, fake_provider):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    web.goto(f"{live_server.url}/chat/")
    box = web.get_by_test_id("chat-input")
    box.click()
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(web.get_by_test_id("chat-message")).to_have_count(0)
    assert not [r for r in fake_provider.requests if r["path"].endswith("/chat/completions")]

    box.press("Enter")
    answer = web.locator(".msg-assistant")
    expect(answer).to_have_attribute("data-status", "complete")
    expect(web.locator(".msg-user .msg-body")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")
    expect(box).to_be_focused()


def test_hostile_provider_text_is_inert(web: Page, live_server, hostile_fake, dialogs):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, hostile_fake)
    credential = ProviderCredential.objects.get(name="fake")
    seed_model(credential, "evil-chat", name=XSS_NAME, description=XSS_NAME)
    catalog_invalidate(credential.workspace_id)

    # A model name and description with markup, on Models and in the chat picker
    web.goto(f"{live_server.url}/models/")
    card = web.locator('[data-model-id="fake/evil-chat"]')
    expect(card.locator(".model-name")).to_have_text(XSS_NAME)
    assert_inert(web.get_by_test_id("model-list"))
    snap(web, "xss-models")
    web.goto(f"{live_server.url}/chat/")
    option = web.locator('#chat-model option[value="fake/evil-chat"]')
    expect(option).to_have_text(f"{XSS_NAME} — fake/evil-chat")
    assert_inert(web.locator("main"))

    # Model output with a script, a javascript: Markdown link and raw HTML, streamed
    web.get_by_test_id("chat-model").select_option("fake/fake-chat")
    web.get_by_test_id("chat-input").fill("Say something nasty")
    web.get_by_test_id("chat-input").press("Enter")
    answer = web.locator(".msg-assistant")
    expect(answer).to_have_attribute("data-status", "complete")
    body = answer.locator(".msg-body")
    expect(body).to_contain_text("Look:")
    assert_inert(body)
    link = body.get_by_role("link", name="x")
    if link.count():
        link.click()  # a sanitized link without a target navigates nowhere harmful
    snap(web, "xss-chat-streamed")

    # The saved conversation, rendered by the server, is just as inert
    web.reload()
    body = web.locator(".msg-assistant .msg-body")
    expect(body).to_contain_text("Look:")
    assert_inert(body)
    assert dialogs == []


def test_the_navigation_fits_a_375_px_screen_and_the_keyboard(web: Page, live_server):
    sign_in_as(web, live_server.url, EMAIL)
    web.set_viewport_size({"width": 375, "height": 740})
    web.goto(f"{live_server.url}/chat/")

    # The first Tab reaches the skip link, which moves focus to the content
    web.keyboard.press("Tab")
    skip = web.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    web.keyboard.press("Enter")
    expect(web.locator("#main")).to_be_focused()

    for name in ("models", "chat", "playground", "account", "docs"):
        link = web.get_by_test_id(f"nav-{name}")
        expect(link).to_be_in_viewport()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 375
    expect(web.get_by_test_id("nav-signout")).to_be_in_viewport()
    assert web.evaluate("document.documentElement.scrollWidth") <= 375
    snap(web, "narrow-chat")
    web.get_by_test_id("nav-models").click()
    expect(web.get_by_test_id("nav-models")).to_have_attribute("aria-current", "page")
    assert web.evaluate("document.documentElement.scrollWidth") <= 375

    # The API keys table stacks its rows, so Revoke is reachable without scrolling sideways
    web.goto(f"{live_server.url}/account/keys/")
    web.get_by_label("Name").fill("a key with a rather long name for a phone")
    web.get_by_role("button", name="Create key").click()
    revoke = web.get_by_role("button", name="Revoke a key with a rather long name for a phone")
    expect(revoke).to_be_visible()
    box = revoke.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
    assert web.evaluate("document.documentElement.scrollWidth") <= 375
    snap(web, "narrow-keys")


SIGNED_IN_PAGES = [
    "/",
    "/docs/",
    "/models/",
    "/chat/",
    "/playground/",
    "/account/",
    "/account/providers/",
    "/account/keys/",
    "/account/saved/",
    "/account/conversations/",
    "/account/usage/",
]


def test_every_page_loads_without_browser_errors(web: Page, live_server, fake_provider):
    for path in ("/", "/docs/", "/account/signin/", "/account/signup/"):
        response = web.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.ok, path
        snap(web, f"page-signed-out{path}", full_page=False)
    sign_up(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    assert User.objects.get(email=EMAIL).workspace.catalog_models.exists()
    for path in SIGNED_IN_PAGES:
        response = web.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.ok, path
        expect(web.locator("main h1").first).to_be_visible()
        snap(web, f"page{path}", full_page=False)

    # Sign out, then back in through the form, landing where the sign-in was asked for
    web.get_by_test_id("nav-signout").click()
    expect(web.get_by_test_id("nav-signin")).to_be_visible()
    web.goto(f"{live_server.url}/chat/")
    expect(web).to_have_url(re.compile(r"/account/signin/\?next=/chat/$"))
    web.locator("input[name=username]").fill(EMAIL)
    web.locator("input[name=password]").fill("not the password")
    web.get_by_role("button", name="Sign in").click()
    expect(web.get_by_role("alert")).to_contain_text("do not match")
    web.locator("input[name=password]").fill(PASSWORD)
    web.get_by_role("button", name="Sign in").click()
    expect(web).to_have_url(f"{live_server.url}/chat/")
    expect(web.get_by_test_id("chat-form")).to_be_visible()


def test_error_pages_and_the_admin_load_without_browser_errors(
    web: Page, live_server, browser_errors
):
    response = web.goto(f"{live_server.url}/no-such-page/")
    assert response is not None
    assert response.status == 404
    expect(web.get_by_test_id("error-page")).to_contain_text("Page not found")
    expect(web.get_by_test_id("nav-models")).to_be_visible()
    snap(web, "error-404")
    # A 404 response is itself logged by Chromium; nothing else (such as /favicon.ico) may be.
    browser_errors.allow(r"status of 404 \(Not Found\) @ .*/no-such-page/$")

    User.objects.create_superuser("root@example.com", password=PASSWORD)
    web.goto(f"{live_server.url}/admin/")
    web.locator("input[name=username]").fill("root@example.com")
    web.locator("input[name=password]").fill(PASSWORD)
    web.locator("input[type=submit]").click()
    expect(web.locator("#site-name")).to_be_visible()
    for path in ("/admin/accounts/user/", "/admin/providers/providercredential/"):
        response = web.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.ok, path
    snap(web, "admin")

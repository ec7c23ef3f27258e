"""Every page: access rules, navigation, security headers and CSP-safe markup."""

import re

import pytest

pytestmark = pytest.mark.django_db

PROTECTED = {
    "/models/": "models",
    "/chat/": "chat",
    "/playground/": "playground",
    "/account/": "account",
    "/account/providers/": "account",
    "/account/saved/": "account",
    "/account/conversations/": "account",
    "/account/usage/": "account",
}
PUBLIC = {"/": "home", "/docs/": "docs"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/account/signin/?next={url}"


@pytest.mark.parametrize("url", PUBLIC)
def test_home_and_docs_are_public(client, url):
    page = client.get(url).content.decode()

    assert 'href="/account/signin/"' in page
    assert "Sign out" not in page


@pytest.mark.parametrize("url", [*PROTECTED, *PUBLIC])
def test_signed_in_pages_render_with_the_current_section_marked(client_in, text_model, url):
    response = client_in.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    section = {**PROTECTED, **PUBLIC}[url]
    if section != "home":
        assert f'data-nav="{section}" data-testid="nav-{section}" aria-current="page"' in page
    assert page.count('aria-current="page"') >= 1
    assert "Sign out" in page


@pytest.mark.parametrize("url", [*PROTECTED, *PUBLIC])
def test_pages_carry_security_headers_and_no_inline_code(client_in, text_model, url):
    response = client_in.get(url)

    page = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not INLINE_SCRIPT.search(page)
    assert not EVENT_HANDLER.search(page)
    assert " style=" not in page


def test_the_navigation_has_every_section(client):
    page = client.get("/").content.decode()

    for href in ("/models/", "/chat/", "/playground/", "/account/", "/docs/"):
        assert f'href="{href}"' in page


def test_the_home_page_shows_progress_on_the_getting_started_path(client_in, text_model):
    page = client_in.get("/").content.decode()

    steps = page.split('data-testid="getting-started"')[1]
    assert steps.count("badge ok") == 3  # signed in, provider connected, catalog has models
    assert 'href="/account/keys/"' in steps


def test_an_unknown_conversation_is_a_404_page(client_in):
    assert client_in.get("/chat/999999/").status_code == 404


def test_no_page_or_script_ever_carries_a_provider_key(client_in, workspace, text_model):
    canary = "sk-canaryPROVIDERkey0123456789abcdef"
    credential = text_model.credential
    credential.api_key = canary
    credential.save()

    pages = [client_in.get(url).content.decode() for url in [*PROTECTED, *PUBLIC]]
    scripts = [
        client_in.get(f"/static/js/{name}").getvalue().decode()
        for name in ("common.js", "chat.js", "docs.js", "playground.js")
    ]

    assert all(canary not in text for text in pages + scripts)
    assert all(canary[-12:] not in text for text in pages)


def test_the_home_page_title_names_the_product_once(client):
    page = client.get("/").content.decode()

    assert "<title>OpenProvider</title>" in page


def test_other_pages_keep_their_own_title_before_the_product(client):
    assert "<title>Docs · OpenProvider</title>" in client.get("/docs/").content.decode()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/accounts/signin/", "/account/signin/"),
        ("/accounts/signup/", "/account/signup/"),
        ("/accounts/keys/", "/account/keys/"),
        ("/accounts/signin/?next=/chat/", "/account/signin/?next=/chat/"),
    ],
)
def test_the_retired_accounts_paths_redirect_permanently(client, old, new):
    response = client.get(old)

    assert response.status_code == 308
    assert response["Location"] == new


def test_a_form_posted_to_a_retired_path_keeps_its_method(client_in):
    response = client_in.post("/accounts/keys/", {"name": "old bookmark"}, follow=True)

    assert response.redirect_chain[0] == ("/account/keys/", 308)
    assert response.redirect_chain[-1] == ("/account/keys/", 302)
    assert "old bookmark" in response.content.decode()

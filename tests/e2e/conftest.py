"""Browser tests: Debian's Chromium (headless) against live_server, providers served by a
loopback fake through a custom OpenAI-compatible credential.

Every page a test opens is checked for console errors and uncaught exceptions (a CSP violation
is a console error), and a screenshot of each page is kept under test-artifacts/e2e/.
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from config.celery import app as celery_app
from tests.fakeprovider import FakeProvider

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PASSWORD = "correct horse battery staple"
EXPECT_TIMEOUT_MS = 10_000

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in this thread while the browser is
    open; the ORM calls tests make between browser steps are still plain synchronous calls."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# pytest-playwright starts Playwright once per session, and its event loop would stay running in
# the main thread for every test collected after these (async_to_sync and asyncio.run refuse to
# work then). Here Playwright and the browser live only as long as this package's tests.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox"],
        "headless": True,
    }


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict, browser_type: BrowserType):
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="package")
def browser(launch_browser) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    with FakeProvider(answer="Hello from the fake provider.", delay=0.02) as fake:
        yield fake


@pytest.fixture
def streaming_fake() -> Iterator[FakeProvider]:
    """Slow enough between words that each one reaches the page on its own."""
    with FakeProvider(
        answer="Hello from the fake provider, streamed word by word.", delay=0.12
    ) as fake:
        yield fake


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Catalog syncs queued by the web app run inside the request, as a worker would run them."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


class BrowserErrors:
    """Console errors and uncaught page exceptions seen while a test drove the browser."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text} @ {message.location.get('url')}")

    def allow(self, pattern: str) -> None:
        """Accept errors a test provokes on purpose (Chromium logs every failed fetch)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]


@pytest.fixture
def browser_errors(page: Page) -> Iterator[BrowserErrors]:
    errors = BrowserErrors(page)
    yield errors
    assert errors.unexpected() == [], "the browser reported errors"


@pytest.fixture
def web(page: Page, live_server, transactional_db, browser_errors) -> Page:
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    return page


def snap(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot as a test artifact (a long page takes ~0.4 s in full)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=full_page)


def sign_up(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(email)).to_be_visible()


def sign_in_as(page: Page, base_url: str, email: str) -> None:
    """A new user whose session cookie the browser already holds (sign-up itself is tested in
    the flow and the page sweep)."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.create_user(email, password=PASSWORD))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}]
    )


def connect_fake(email: str, fake: FakeProvider, name: str = "fake") -> None:
    """Give the user's workspace a synced custom credential to the fake (no browser steps)."""
    from accounts.models import User
    from catalog.services import catalog_sync_credential
    from providers.services import credential_save

    workspace = User.objects.get(email=email).workspace
    credential = credential_save(
        workspace=workspace, provider="custom", name=name, api_key="k", base_url=fake.base_url
    )
    run = catalog_sync_credential(credential=credential)
    assert run is not None
    assert run.status == "ok"


def wait_until(condition, timeout: float = 5.0) -> bool:
    """Poll a server-side condition the page cannot show (e.g. a row saved after a hang-up)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def flash(page: Page) -> Locator:
    """The messages a redirect leaves at the top of the next page."""
    return page.locator("main > ul.messages")

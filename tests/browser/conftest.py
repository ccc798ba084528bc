"""Browser tests: real headless Chromium (Debian's ``chromium``) driven by Playwright.

One server on SQLite serves the whole browser suite (each test signs up its own account),
so the suite stays fast; it may call webhook receivers on 127.0.0.1, with quick retries.
Screenshots go to a temporary folder; with ``SMSSTREAMS_UPDATE_SCREENSHOTS=1`` they
replace the ones in ``docs/screenshots/``.
When Chromium is missing the tests are skipped, except under ``CI=true`` (an error).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import WEBHOOK_ENV
from tests.support.databases import sqlite_url
from tests.support.server import Server

CHROMIUM = os.environ.get("SMSSTREAMS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[2]

playwright_api = pytest.importorskip("playwright.sync_api")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("console")
    server = Server(sqlite_url(root), root / "data", dict(WEBHOOK_ENV)).start()
    yield server
    server.kill()


# Package scope: Playwright's sync API keeps an event loop running in the main thread, so it
# must be gone before other suites call asyncio.run().
@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Console:
    """A browser tab on the console, with the console's own problems collected."""

    page: playwright_api.Page
    server: Server
    problems: list[str]

    @property
    def url(self) -> str:
        return self.server.url

    def goto(self, path: str) -> playwright_api.Response | None:
        return self.page.goto(self.url + path)

    def sign_up(self, name: str = "Acme") -> str:
        email = f"{name.lower().replace(' ', '-')}-{time.monotonic_ns()}@example.test"
        self.goto("/signup")
        self.page.get_by_label("Account name").fill(name)
        self.page.get_by_label("Work email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Create account").click()
        self.page.wait_for_url(self.url + "/streams")
        return email

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.goto("/signin")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        if full_page:
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=path, full_page=full_page, animations="disabled")

    def csrf(self) -> str:
        token = self.page.locator("input[name=csrf_token]").first.input_value()
        assert token
        return token


def _new_console(
    browser: playwright_api.Browser, server: Server, width: int = 1280, height: int = 860
) -> tuple[playwright_api.BrowserContext, Console]:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        base_url=server.url,
        device_scale_factor=1,
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and "status of 4" not in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return context, Console(page, server, problems)


@pytest.fixture
def console(browser: playwright_api.Browser, console_server: Server) -> Iterator[Console]:
    context, tab = _new_console(browser, console_server)
    yield tab
    context.close()
    assert not tab.problems, "\n".join(tab.problems)  # CSP violations, JS errors


def console_tabs(
    browser: playwright_api.Browser, server: Server
) -> Iterator[Callable[..., Console]]:
    """Yield a maker of console tabs on ``server``; at the end close them all and fail on
    any problem one of them saw (CSP violations, JS errors)."""
    contexts: list[playwright_api.BrowserContext] = []
    tabs: list[Console] = []

    def make(width: int = 1280, height: int = 860) -> Console:
        context, tab = _new_console(browser, server, width, height)
        contexts.append(context)
        tabs.append(tab)
        return tab

    yield make
    for context in contexts:
        context.close()
    problems = [p for tab in tabs for p in tab.problems]
    assert not problems, "\n".join(problems)


@pytest.fixture
def console_factory(
    browser: playwright_api.Browser, console_server: Server
) -> Iterator[Callable[..., Console]]:
    yield from console_tabs(browser, console_server)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("SMSSTREAMS_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")

"""Browser tests: Playwright for Python driving Debian's Chromium against a live planner.

They skip, saying why, only when /usr/bin/chromium is missing on a developer's machine; CI sets
PLANNER_REQUIRE_BROWSER=1, which turns that skip into a failure. Screenshots go to
test-artifacts/screenshots/ (every test's named shots, and a full page on failure).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = "Debian's Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("PLANNER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and PLANNER_REQUIRE_BROWSER=1 says browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Shots:
    """Named screenshots of one test, kept as artifacts (one folder per database)."""

    def __init__(self, test_name: str, dialect: str) -> None:
        self.dir = ARTIFACTS / dialect
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prefix = test_name.replace("/", "_")
        self.taken: list[Path] = []

    def take(self, page, name: str, full_page: bool = True) -> Path:
        path = self.dir / f"{self.prefix}--{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request, app) -> Shots:
    from planner.db import get_db

    return Shots(request.node.name, get_db(app).dialect)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for page in getattr(item, "_pages", []):
            try:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{item.name}--FAILED.png"), full_page=True)
            except Exception:  # the page may be gone; the failure itself is what matters
                pass


@pytest.fixture
def new_page(browser, request):
    """Open pages in fresh browser contexts (separate cookies); closed after the test."""
    contexts = []

    def open_page(width: int = 1366, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        request.node._pages = [*getattr(request.node, "_pages", []), page]
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    # Wait for the answer's page itself, not the sign-in page already loaded: a key pressed
    # before the next page's deferred scripts ran would be lost.
    follow(page, page.get_by_role("button", name="Sign in"))


def follow(page, target) -> None:
    """Click a link or button that opens another page and wait until that page has loaded.

    Waiting for the new address is not enough: the address changes when the answer starts,
    while a key pressed before the new page's deferred scripts ran would be lost.
    """
    with page.expect_navigation():
        target.click()
    page.wait_for_load_state()

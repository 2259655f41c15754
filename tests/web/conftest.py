"""Browser fixtures for the web channel's tests: a real headless Chromium driven by Playwright,
and a storefront server on its own origin.

``browser`` is started once per session (only when a test asks for it); ``page`` is a fresh
page in a fresh context (no cookies, no storage) for each test. The system's Chromium is used:
Playwright never downloads one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.web.storefront import Storefront

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    # The sync API runs Playwright's event loop on the test's own thread, so Django would
    # take every ORM call of a browser test for one made from async code and refuse it. No
    # coroutine touches the database here: the check is lifted while the driver runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as driver:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def storefront() -> Iterator[Storefront]:
    """A storefront at ``http://127.0.0.1:<port>``; tests fill ``storefront.pages``."""
    with Storefront() as shop:
        yield shop

"""Debian's Chromium, driven by Playwright, for every browser test.

``/usr/bin/chromium`` (installed by ``.ci/run``) is launched directly:
Playwright's own browser download cannot work here. As root Chromium needs
``--no-sandbox``; the other flags keep it off the (closed) network and off the
GPU. Test modules mark themselves with ``requires_chromium`` so they skip when
Chromium is absent; screenshots go to ``ARTIFACTS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
)


@contextmanager
def chromium_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Launch Chromium for one test; closed on the way out."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the tests only
    # touch the database between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    with chromium_browser(monkeypatch) as chromium:
        yield chromium


def log_in(browser: Browser, base_url: str, username: str, **context: Any) -> Page:
    """Log in through the real login page, in a browser context of its own (own cookies)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900}, **context)
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page

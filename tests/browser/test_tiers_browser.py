"""The tiers reached, in a real Chromium: on a clip page, a card page and the producer's day rows.

Screenshots go to ``artifacts/tiers-*.png``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.dashboard.conftest import build_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_the_clip_page_and_day_rows_show_the_tiers(browser: Browser, live_server: Any, world: Any) -> None:
    site = build_site(world)
    site.volumes["LTO-1"].worm = True
    site.volumes["LTO-1"].save()
    clip = site.clip(
        "T002C001",
        day=2,
        card="T002",
        copies=[
            {"RAID-A": "verified", "SHUTTLE-1": "verified", "LTO-1": "verified"},
            {"RAID-A": "verified", "SHUTTLE-1": "copying", "LTO-1": "pending"},
        ],
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "producer")
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    expect(page.locator("dd.tiers")).to_have_text(
        "RAID ✓, shuttle 1 of 2, 1 pending, LTO 1 of 2 (1 WORM), 1 pending"
    )
    page.screenshot(path=str(ARTIFACTS / "tiers-clip.png"), full_page=True)
    page.goto(f"{live_server.url}/p/FILM/dashboard/")
    expect(page.locator('tr[data-day="2"] td.tiers')).to_contain_text("shuttle 1 of")
    page.screenshot(path=str(ARTIFACTS / "tiers-dashboard.png"), full_page=True)
    # The card page: the same tiers for the card's files, in its lifecycle section.
    page.goto(f"{live_server.url}/volumes/{clip.card_id}/")
    expect(page.locator("#card-tiers")).to_have_text(
        "RAID ✓, shuttle 1 of 2, 1 pending, LTO 1 of 2 (1 WORM), 1 pending"
    )
    page.locator("#card-h").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "tiers-card.png"), full_page=True)

"""The daily report opened in the app: the app header, a way back, and the emailed document below.

Screenshot: ``artifacts/daily-report-page.png``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest

from dashboard import services
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.dashboard.conftest import build_site
from tests.fixtures import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.mark.django_db(transaction=True)
def test_a_producer_reads_the_daily_report_inside_the_app(
    world: World, live_server: object, browser: Browser
) -> None:
    site = build_site(world)
    services.daily_report_generate(project=site.project, report_date=date(2026, 11, 2))
    page = log_in(browser, str(live_server), "producer")
    page.goto(f"{live_server}/p/FILM/reports/2026-11-02/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    document = page.frame_locator("iframe.report-document")
    expect(document.get_by_role("heading", name="FILM daily report — 2026-11-02")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "daily-report-page.png"), full_page=True)
    page.get_by_role("link", name="← All daily reports").click()
    expect(page).to_have_url(f"{live_server}/p/FILM/reports/")

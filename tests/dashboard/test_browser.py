"""The producer's dashboard in a real Chromium (Debian's), driven by Playwright.

The producer sees each day's state, watches a running offload progress
without reloading, signs off the complete day, is refused on the incomplete
one (with the reasons), and sees the alert of a failed copy. A screenshot of
the overview is saved as ``artifacts/dashboard-producer.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from alerts.services import alert_raise
from catalog.selectors import day_signed_off
from ingest.models import OffloadJob
from tests.browser.conftest import ARTIFACTS, chromium_browser, requires_chromium
from tests.dashboard.conftest import Site, build_site
from tests.fixtures import PASSWORD, World

pytestmark = [
    pytest.mark.browser,
    requires_chromium,
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Chromium as every browser test launches it (tests/browser/conftest.py).
    with chromium_browser(monkeypatch) as chromium:
        yield chromium


@pytest.fixture
def site(transactional_db: None, world: World, settings: Any) -> Site:
    settings.REELVAULT_DASHBOARD_REFRESH_SECONDS = 1
    return build_site(world)


def test_a_producer_follows_the_days_signs_off_and_sees_alerts(
    site: Site, live_server: Any, browser: Any
) -> None:
    try:
        producer_session(site, live_server, browser)
    finally:
        # Inside Playwright's sync API the test body runs in another context, so
        # its queries use a connection of their own (asgiref's Local follows
        # contexts) that no fixture would close.
        connections.close_all()


def producer_session(site: Site, live_server: Any, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "producer")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.get_by_role("link", name="Dashboard", exact=True).click()

    # Each day a row with its state, in words as well as colour.
    expect(page.get_by_role("heading", name="FILM — backup status")).to_be_visible()
    rows = page.locator("table.days tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('tr[data-day="1"] td.state')).to_have_text("Ready to sign off")
    expect(page.locator('tr[data-day="2"] td.state')).to_have_text("In progress")
    expect(page.locator('tr[data-day="3"] td.state')).to_have_text("Needs attention")
    expect(page.locator('tr[data-day="4"] td.state')).to_have_text("No footage yet")

    # Live: the running offload of day 3 moves without a reload.
    expect(page.locator('tr[data-day="3"]')).to_contain_text("1 running (25%)")
    OffloadJob.objects.filter(label="B003").update(bytes_done=750)
    expect(page.locator('tr[data-day="3"]')).to_contain_text("1 running (75%)")

    # An alert raised by an event shows up on the open page within seconds.
    alert_raise(
        project=site.project,
        key="copy.corrupt:volume:test",
        kind="copy.corrupt",
        severity="critical",
        title="FILM: corrupt copies on NAS-1",
        body="A restore found a bad copy.",
    )
    expect(page.get_by_role("link", name="FILM: corrupt copies on NAS-1")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-producer.png"), full_page=True)

    # The incomplete day: refused, with the reasons.
    page.get_by_role("link", name="Day 2", exact=True).click()
    expect(page.locator("#blockers")).to_contain_text("1 of 2 clips do not meet the storage policy")
    page.get_by_role("button", name="Sign off day 2").click()
    expect(page.locator(".messages")).to_contain_text("Sign-off refused")
    expect(page.locator(".messages")).to_contain_text("C002")
    assert not day_signed_off(day=site.days[2])

    # The complete day: signed off.
    page.get_by_role("link", name="All days of FILM").click()
    page.get_by_role("link", name="Day 1", exact=True).click()
    expect(page.locator("#blockers")).to_contain_text("ready to sign off")
    page.get_by_label("Note (optional)").fill("three copies, LTO off-site")
    page.get_by_role("button", name="Sign off day 1").click()
    expect(page.locator(".messages")).to_contain_text("signed off: its cards are released for reformat")
    expect(page.get_by_role("button", name="Reopen the day")).to_be_visible()
    assert day_signed_off(day=site.days[1])
    page.get_by_role("link", name="All days of FILM").click()
    expect(page.locator('tr[data-day="1"] td.state')).to_have_text("Signed off")
    expect(page.locator('tr[data-day="1"]')).to_contain_text(re.compile("Signed off\\s+producer"))
    page.goto("about:blank")  # stop the live refresh before the server goes away
    page.close()

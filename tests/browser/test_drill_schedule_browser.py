"""Drill schedules and an incident's automatic timeline, in a real Chromium.

A producer schedules a monthly loss-of-the-hot-tier drill on the drills page
(820 px); beat's task starts it. A DIT opens an incident from a corrupt-copy
alert and finds the RAID's later handoff on its timeline by itself.
Screenshots: ``artifacts/drill-schedules-*.png``, ``artifacts/incident-timeline.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from alerts.services import alert_raise
from custody.services import handoff_create
from restore.models import DrillSchedule, RestoreDrill
from restore.tasks import restore_drills_due_task
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World
from tests.restore.conftest import build_media

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
TABLET = {"width": 820, "height": 1180}


def test_a_producer_schedules_a_scenario_drill_and_a_dit_follows_an_incident(
    transactional_db: None, world: World, live_server: Any, browser: Browser, tmp_path: Path, settings: Any
) -> None:
    media = build_media(world, tmp_path / "media", host=settings.REELVAULT_HOSTNAME)
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "producer")
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/p/FILM/drills/")
    page.select_option("#s-scenario", "tier_loss")
    page.select_option("#s-tier", "hot")
    page.select_option("#s-day", "rotate")
    page.fill("#s-every", "4")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.locator(".messages")).to_contain_text("Loss of a tier or site drills: every 4 weeks")
    schedule = DrillSchedule.objects.get()
    assert (schedule.tier, schedule.day_rule, schedule.interval_hours) == ("hot", "rotate", 672)
    restore_drills_due_task()
    drill = RestoreDrill.objects.get()
    assert drill.schedule == schedule and drill.trigger == "schedule"
    page.reload()
    expect(page.locator("table").first).to_contain_text("every 4 weeks")
    # The wide results table scrolls in its own box; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.screenshot(path=str(ARTIFACTS / "drill-schedules-820.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "drill-schedules-1280.png"), full_page=True)

    alert = alert_raise(
        project=world.project,
        key=f"copy.corrupt:volume:{media.raid.pk}",
        kind="copy.corrupt",
        severity="critical",
        title="FILM: corrupt copies on RAID-A",
        body="Found by a fixity audit.",
    ).alert
    dit = log_in(browser, live_server.url, "dit")
    dit.goto(f"{live_server.url}/alerts/{alert.pk}/")
    dit.get_by_role("button", name="Open an incident").click()
    expect(dit.locator("#incident-volumes")).to_have_text("RAID-A")
    handoff_create(actor=world.users["dit"], volume=media.raid, from_place="Cart", to_place="Repair shop")
    dit.reload()
    expect(dit.locator(".timeline")).to_contain_text("RAID-A handed from Cart to Repair shop")
    dit.screenshot(path=str(ARTIFACTS / "incident-timeline.png"), full_page=True)

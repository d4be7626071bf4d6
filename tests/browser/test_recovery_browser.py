"""Recovery readiness in a real Chromium: an incident opened from an alert ends with a lesson in the runbook.

A producer on a tablet-sized screen (820 px) opens an incident from the
alert's page, writes a lesson whose action edits the hot tier's runbook,
and finds it on the runbook page with its version and the incident it came
from. Screenshots of the incident, the runbook, the recovery desk and the
drills page (with a scenario drill that found a policy hole) go to
``artifacts/recovery-*.png``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from alerts.services import StepSpec, alert_raise, duty_shift_add, escalation_ladder_set
from catalog.models import AuditEvent, MediaFile
from recovery.models import ChecklistRun, RunbookVersion
from recovery.services import checklist_create
from restore.models import RestoreTarget
from restore.services import restore_drill_scenario_start
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import ClipFactory, ShootDayFactory, World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
TABLET = {"width": 820, "height": 1180}


def test_a_producer_turns_an_alert_into_an_incident_and_a_runbook_lesson(
    transactional_db: None, world: World, live_server: Any, browser: Browser, tmp_path: Any
) -> None:
    now = timezone.now()
    duty_shift_add(
        actor=None,
        project=world.project,
        user=world.users["dit"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=10),
        reach="radio channel 4",
    )
    escalation_ladder_set(
        actor=None,
        project=world.project,
        steps=[
            StepSpec(name="DIT on duty", after_minutes=10, include_on_duty=True),
            StepSpec(name="Data manager", after_minutes=20, users=[world.users["producer"]]),
            StepSpec(name="Vendor", after_minutes=60, emails=["support@raid-vendor.example"]),
        ],
    )
    alert = alert_raise(
        project=world.project,
        key="copy.corrupt:volume:1",
        kind="copy.corrupt",
        severity="critical",
        title="FILM: corrupt copies on RAID-A",
        body="Found during a restore.",
        items=["A001/A001C001.mov"],
    ).alert
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "producer")
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    page.get_by_role("button", name="Open an incident").click()
    expect(page.locator("h1")).to_contain_text("FILM: corrupt copies on RAID-A")
    expect(page.locator(".timeline")).to_contain_text("Alert raised")
    page.fill("#lesson", "Nobody read the RAID's SMART warnings")
    page.fill("#action", "Read SMART before every wrap")
    page.select_option("#runbook_tier", "hot")
    page.fill("#who", "DIT on duty, then the data manager")
    page.fill("#steps", "Read the RAID's SMART page\nIf a disk warns, copy the day to a shuttle first")
    page.get_by_role("button", name="Add lesson").click()
    expect(page.locator("#lessons")).to_contain_text("runbook, Hot (online disk) tier, version 1")
    page.screenshot(path=str(ARTIFACTS / "recovery-incident.png"), full_page=True)
    page.get_by_role("link", name="runbook, Hot (online disk) tier, version 1").click()
    expect(page.locator("h1")).to_contain_text("every version")
    page.goto(f"{live_server.url}/p/FILM/runbook/")
    expect(page.locator("#section-hot")).to_contain_text("If a disk warns, copy the day to a shuttle first")
    page.screenshot(path=str(ARTIFACTS / "recovery-runbook.png"), full_page=True)
    page.goto(f"{live_server.url}/p/FILM/desk/")
    expect(page.locator("#on-duty")).to_contain_text("dit")
    expect(page.locator("#ladder")).to_contain_text("support@raid-vendor.example")
    page.screenshot(path=str(ARTIFACTS / "recovery-desk.png"), full_page=True)
    page.goto(f"{live_server.url}/p/FILM/trends/")
    expect(page.get_by_role("img", name="Incidents per cause")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "recovery-trends.png"), full_page=True)
    assert RunbookVersion.objects.get().incident.alert_id == alert.pk
    assert AuditEvent.objects.filter(action="runbook.section_edit", actor_name="producer").count() == 1

    # A scenario drill with nothing off-site fails at once and names the clips (no worker needed).
    RestoreTarget.objects.create(project=world.project, name="scratch", path=str(tmp_path), scratch=True)
    day = ShootDayFactory(project=world.project, number=1)
    clip = ClipFactory(project=world.project, day=day, name="A001C001_X")
    MediaFile.objects.create(
        clip=clip, relative_path="A001C001_X.mov", size=3_000_000_000, mtime=now, xxh128="0" * 32
    )
    restore_drill_scenario_start(actor=None, project=world.project, scenario="local_failure")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/p/FILM/drills/")
    expect(page.get_by_text("A001C001_X").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "recovery-drills.png"), full_page=True)


def test_a_dit_completes_the_wrap_checklist_on_a_tablet(
    transactional_db: None, world: World, live_server: Any, browser: Browser
) -> None:
    ShootDayFactory(project=world.project, number=1)
    checklist = checklist_create(
        actor=world.users["producer"],
        project=world.project,
        name="End-of-day wrap",
        kind="wrap",
        role="dit",
        items=["Every card offloaded twice", "Shuttle labelled and sealed", "RAID SMART read"],
        required_for_signoff=True,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "dit")
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/p/FILM/checklists/")
    page.get_by_role("link", name="End-of-day wrap").click()
    # Each item is a large target a finger can hit: the whole row ticks its box.
    for text in ("Every card offloaded twice", "Shuttle labelled and sealed"):
        page.locator(".ticks label", has_text=text).click()
    page.get_by_role("button", name="Checklist complete").click()
    expect(page.get_by_text("1 item(s) not ticked: RAID SMART read")).to_be_visible()
    for text in ("Every card offloaded twice", "Shuttle labelled and sealed", "RAID SMART read"):
        page.locator(".ticks label", has_text=text).click()
    box = page.locator(".ticks label", has_text="RAID SMART read").bounding_box()
    assert box is not None and box["height"] >= 40  # tall enough to tick with a finger
    page.screenshot(path=str(ARTIFACTS / "recovery-checklist-ticked.png"), full_page=True)
    page.get_by_role("button", name="Checklist complete").click()
    expect(page.get_by_text("Completed by dit")).to_be_visible()
    expect(page.locator("table")).to_contain_text("Day 1")
    page.screenshot(path=str(ARTIFACTS / "recovery-checklist-done.png"), full_page=True)
    run = ChecklistRun.objects.get(checklist=checklist)
    assert run.completed_by.username == "dit" and run.day.number == 1
    assert AuditEvent.objects.filter(action="checklist.complete", actor_name="dit").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 820  # no sideways scrolling

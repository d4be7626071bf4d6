"""The DIT's journey in Chromium (issue 16): a card appears on the offload screen by itself, is offloaded
to two destinations with the project's preset on a real worker, and ends with a link to the transfer report.

At 1280 and 820 px wide; screenshots in ``artifacts/dit-offload-*.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings

from catalog.models import Volume
from ingest import presets
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World, local_volumes, start_worker
from tests.ingest.conftest import write_card

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.mark.parametrize("width", [1280, 820])
@pytest.mark.django_db(transaction=True)
def test_a_dit_offloads_a_card_that_appears_to_two_destinations_and_opens_the_report(
    world: World,
    tmp_path: Path,
    live_server: object,
    browser: Browser,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    width: int,
) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    settings.REELVAULT_INGEST_ROOTS = [cards]
    volumes = local_volumes(world.project, tmp_path)
    Volume.objects.filter(project=world.project).update(health=Volume.Health.HEALTHY)
    presets.offload_preset_save(
        actor=world.users["dit"],
        project=world.project,
        destinations=volumes,
        algorithms=["md5"],
        folder_template="{project}/Day{day:03}/{camera}/{card}",
        day_rule="recorded",
        auto_start=False,
    )
    monkeypatch.setenv("REELVAULT_INGEST_ROOTS", str(cards))
    worker = start_worker(django_settings.REELVAULT_HOSTNAME, str(tmp_path / "worker.log"))
    shots = ARTIFACTS
    shots.mkdir(exist_ok=True)
    try:
        page = log_in(browser, str(live_server), "dit")
        page.set_viewport_size({"width": width, "height": 1000})
        page.goto(f"{live_server}/p/FILM/offload/")
        expect(page.get_by_text("No card mounted under this host's ingest roots")).to_be_visible()

        # The card is inserted: the screen shows it without a reload.
        write_card(
            cards / "A004",
            {
                "XDROOT/Clip/A004C001_261102AB.MXF": os.urandom(3_000_000),
                "XDROOT/Clip/A004C001_261102ABM01.XML": b"<xml/>" * 100,
                "XDROOT/Clip/A004C002_261102AB.MXF": os.urandom(2_000_000),
            },
        )
        tile = page.locator("article.card-tile", has_text="A004")
        expect(tile).to_be_visible(timeout=15_000)
        expect(tile).to_contain_text("Sony XDCAM")
        expect(tile).to_contain_text("5.0 MB in 3 files")
        expect(tile).to_contain_text("Day 1, created with the first offload")
        expect(tile).to_contain_text("RAID-1: fits")
        expect(tile).to_contain_text("SHUTTLE-1: fits")
        expect(tile).to_contain_text("under a second at 150 MB/s (assumed)")
        expect(page.get_by_role("cell", name="RAID-1")).to_be_visible()
        page.screenshot(path=str(shots / f"dit-offload-card-{width}.png"), full_page=True)

        tile.get_by_role("button", name="Offload A004 with the preset").click()
        expect(page.get_by_text("Offload of A004 queued")).to_be_visible()
        finished = page.locator("section[aria-labelledby=recent-h] li", has_text="A004")
        expect(finished).to_contain_text("Completed", timeout=60_000)
        expect(finished).to_contain_text("safe to format")

        finished.get_by_role("link", name="A004").click()
        expect(page.get_by_text("YES — every file verified on every destination")).to_be_visible()
        for label in ("RAID-1", "SHUTTLE-1"):
            expect(page.get_by_role("progressbar", name=f"{label}: 100%")).to_be_visible()
        expect(page.locator("dd", has_text="FILM/Day001/A/A004")).to_be_visible()
        page.screenshot(path=str(shots / f"dit-offload-done-{width}.png"), full_page=True)

        page.get_by_role("link", name="Open the transfer report").click()
        expect(page.get_by_role("heading").first).to_contain_text("A004")
        body = page.locator("main").inner_text()
        assert "{'" not in body and "T00:00" not in body
        page.screenshot(path=str(shots / f"dit-offload-report-{width}.png"), full_page=True)
    finally:
        worker.kill()


@pytest.mark.parametrize("width", [1280, 820])
@pytest.mark.django_db(transaction=True)
def test_the_queue_shows_each_card_with_its_phase_bars_and_pause_or_resume(
    world: World, tmp_path: Path, live_server: object, browser: Browser, settings: Any, width: int
) -> None:
    from django.utils import timezone

    from ingest import services
    from ingest.models import OffloadJob

    cards = tmp_path / "cards"
    settings.REELVAULT_INGEST_ROOTS = [cards]
    volumes = local_volumes(world.project, tmp_path)
    jobs = {}
    for label in ("A001", "A002", "B001"):
        write_card(cards / label, {f"{label}C001_261102_R1AB.mov": b"x" * 4_000_000})
        jobs[label] = services.offload_job_create(
            actor=world.users["dit"],
            project=world.project,
            source=cards / label,
            destinations=volumes,
            enqueue=False,
        )
    # A001 is being verified (as its runner reports it), A002 waits, B001 was paused.
    OffloadJob.objects.filter(pk=jobs["A001"].pk).update(
        state="running",
        heartbeat_at=timezone.now() + timezone.timedelta(hours=1),
        phase="verifying",
        bytes_total=4_000_000,
        bytes_done=3_000_000,
        files_total=1,
        eta_seconds=95,
        destination_progress={
            "RAID-1": {"written": 4_000_000, "verified": 2_400_000, "failure": None},
            "SHUTTLE-1": {"written": 4_000_000, "verified": 1_600_000, "failure": None},
        },
    )
    services.offload_job_pause(actor=world.users["dit"], job=jobs["B001"])

    page = log_in(browser, str(live_server), "dit")
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{live_server}/p/FILM/offload/")
    running = page.locator("article.queue-item", has_text="A001")
    expect(running).to_contain_text("Running: Verifying")
    expect(running).to_contain_text("1 min 35 s left")
    expect(running.get_by_role("progressbar", name="RAID-1: 80%")).to_be_visible()
    expect(running.get_by_role("progressbar", name="SHUTTLE-1: 70%")).to_be_visible()
    expect(page.locator("article.queue-item", has_text="A002")).to_contain_text("Queued (position 2)")
    paused = page.locator("article.queue-item", has_text="B001")
    expect(paused).to_contain_text("Paused")
    page.screenshot(path=str(ARTIFACTS / f"dit-offload-queue-{width}.png"), full_page=True)

    paused.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Offload of B001 resumed")).to_be_visible()
    expect(page.locator("article.queue-item", has_text="B001")).to_contain_text("Queued (position 3)")
    running.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Pause requested for A001")).to_be_visible()
    assert OffloadJob.objects.get(pk=jobs["A001"].pk).pause_requested

    page.goto(f"{live_server}/p/FILM/offload/preset/")
    page.fill("#id_folder_template", "../{project}/{card}")
    page.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("may not climb out of the destination")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"dit-offload-preset-{width}.png"), full_page=True)
